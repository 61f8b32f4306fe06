#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "dit_model.h"
#include "dit_pretrain.h"
#include "flowbp/compute.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;

namespace {

// Zero-init makes a fresh DiT output 0 and ignore its inputs: give every parameter
// small random values so conditioning and gradients can show.
void perturb(DitModel& model, std::uint64_t seed) {
  at::NoGradGuard no_grad;
  at::manual_seed(seed);
  for (auto& p : model->parameters()) p.add_(at::randn_like(p) * 0.05);
}

DitConfig small_test_config() {
  DitConfig c = dit_size("tiny", 16, 3, 5);
  c.patch = 4;
  c.learned_pos = true;
  return c;
}

}  // namespace

TEST_CASE("DiT output shapes for several configurations") {
  for (const DitConfig& c : {dit_size("tiny"), dit_size("small"), dit_size("base"), small_test_config()}) {
    CAPTURE(c.describe());
    DitModel m = make_dit(c, 1);
    at::Tensor x = at::randn({3, c.channels, c.image_size, c.image_size});
    at::Tensor v = m->forward(x, at::rand({3}), at::tensor(std::vector<std::int64_t>{0, 1, c.classes}, at::kLong));
    CHECK(v.sizes() == x.sizes());
    CHECK((v.scalar_type() == at::kFloat));
    // adaLN-Zero and a zero final layer: the fresh model outputs exactly 0.
    CHECK(v.abs().max().item<float>() == 0.0f);
    CHECK(m->patchify(x).sizes() == at::IntArrayRef({3, c.tokens(), c.width}));
  }
  CHECK(dit_size("small").tokens() == 49);
  CHECK(dit_size("base").tokens() == 196);
  CHECK(make_dit(dit_size("tiny"), 1)->forward(at::zeros({2, 1, 28, 28}), 0.5, at::tensor({3, 4}, at::kLong)).sizes() ==
        at::IntArrayRef({2, 1, 28, 28}));
}

TEST_CASE("the SD3.5-M-like scaling configuration constructs and runs with a tiny batch") {
  DitConfig c = dit_scale_config();
  CHECK(c.width == 1536);
  CHECK(c.depth == 24);
  CHECK(c.heads == 24);
  CHECK(c.patch == 2);
  CHECK(c.channels == 16);
  CHECK(c.image_size == 64);
  CHECK(c.tokens() == 1024);
  // Two of its 24 blocks keep the test short; every block is the same module.
  c.depth = 2;
  DitModel m = make_dit(c, 1);
  perturb(m, 2);
  at::Tensor x = at::randn({1, 16, 64, 64});
  at::Tensor v;
  {
    at::NoGradGuard no_grad;
    v = m->forward(x, 0.3, at::tensor({7}, at::kLong));
  }
  CHECK(v.sizes() == x.sizes());
  CHECK(at::isfinite(v).all().item<bool>());
  // Per block: qkv, proj, MLP (ratio 4) and the 6-way adaLN, weights and biases.
  const std::int64_t w = 1536, per_block = (3 * w * w + 3 * w) + (w * w + w) + (8 * w * w + 5 * w) + (6 * w * w + 6 * w);
  DitConfig one = c;
  one.depth = 1;
  CHECK(m->parameter_count() - make_dit(one, 1)->parameter_count() == per_block);
}

TEST_CASE("bad configurations are refused, naming the setting") {
  DitConfig c = dit_size("small");
  c.patch = 5;
  CHECK_THROWS_WITH_AS(c.validate(), "DiT config: patch = 5 must divide image_size = 28", std::invalid_argument);
  c = dit_size("small");
  c.heads = 3;
  CHECK_THROWS_WITH_AS(c.validate(), "DiT config: heads = 3 must divide width = 128", std::invalid_argument);
  CHECK_THROWS_WITH_AS(dit_size("huge"), "DiT size 'huge': expected \"tiny\", \"small\" or \"base\"",
                       std::invalid_argument);
  DitModel m = make_dit(dit_size("tiny"), 1);
  CHECK_THROWS(m->forward(at::zeros({2, 1, 27, 27}), 0.5, at::tensor({0, 1}, at::kLong)));
  CHECK_THROWS(m->forward(at::zeros({2, 1, 28, 28}), at::zeros({3}), at::tensor({0, 1}, at::kLong)));
}

TEST_CASE("construction is deterministic under a seed") {
  DitModel a = make_dit(dit_size("tiny"), 42), b = make_dit(dit_size("tiny"), 42), c = make_dit(dit_size("tiny"), 43);
  auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
  REQUIRE(pa.size() == pb.size());
  bool all_equal = true, any_differs = false;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    all_equal = all_equal && at::equal(pa[i], pb[i]);
    any_differs = any_differs || !at::equal(pa[i], pc[i]);
  }
  CHECK(all_equal);
  CHECK(any_differs);
  // clone_dit copies weights into independent storage.
  DitModel d = clone_dit(a);
  CHECK(at::equal(d->parameters()[0], pa[0]));
  {
    at::NoGradGuard no_grad;
    d->parameters()[0].add_(1.0);
  }
  CHECK_FALSE(at::equal(d->parameters()[0], pa[0]));
}

TEST_CASE("conditioning, time and the null class change the output") {
  const DitConfig c = dit_size("tiny");
  DitModel m = make_dit(c, 3);
  perturb(m, 4);
  at::NoGradGuard no_grad;
  at::Tensor x = at::randn({1, 1, 28, 28}).repeat({c.classes + 1, 1, 1, 1});
  at::Tensor v = m->forward(x, 0.5, at::arange(c.classes + 1, at::kLong));
  CHECK(at::isfinite(v).all().item<bool>());
  for (std::int64_t k = 1; k <= c.classes; ++k) {
    CAPTURE(k);
    CHECK((v[k] - v[0]).abs().max().item<float>() > 1e-4f);  // the null class (k = classes) too
  }
  at::Tensor v_early = m->forward(x, 0.9, at::arange(c.classes + 1, at::kLong));
  CHECK((v_early - v).abs().max().item<float>() > 1e-4f);
  // Samples are independent: a batch of one gives the same velocity.
  at::Tensor v3 = m->forward(x.narrow(0, 3, 1), 0.5, at::tensor({3}, at::kLong));
  CHECK(at::allclose(v3, v.narrow(0, 3, 1), 1e-5, 1e-6));
  // An id past the null class is an error, not a silent read.
  CHECK_THROWS(m->forward(x.narrow(0, 0, 1), 0.5, at::tensor({c.classes + 1}, at::kLong)));
}

TEST_CASE("gradients reach every parameter") {
  DitConfig c = small_test_config();  // learned positional embedding: a parameter too
  DitModel m = make_dit(c, 5);
  perturb(m, 6);
  at::Tensor x = at::randn({4, c.channels, c.image_size, c.image_size});
  at::Tensor loss = m->forward(x, at::rand({4}), at::tensor(std::vector<std::int64_t>{0, 1, 2, c.classes}, at::kLong)).pow(2).mean();
  loss.backward();
  for (const auto& item : m->named_parameters()) {
    CAPTURE(item.key());
    REQUIRE(item.value().grad().defined());
    CHECK(item.value().grad().abs().sum().item<double>() > 0);
  }
  // Also with the fresh zero-init: the output layer gets a gradient.
  DitModel fresh = make_dit(dit_size("tiny"), 7);
  at::Tensor target = at::randn({2, 1, 28, 28});
  (fresh->forward(at::randn({2, 1, 28, 28}), 0.4, at::tensor({0, 1}, at::kLong)) - target).pow(2).mean().backward();
  CHECK(fresh->named_parameters()["final_out.weight"].grad().abs().sum().item<double>() > 0);
}

TEST_CASE("attention is permutation-equivariant over tokens") {
  DitBlock block(64, 4, 256);
  at::NoGradGuard no_grad;
  at::Tensor x = at::randn({2, 10, 64});
  at::Tensor perm = at::randperm(10, at::kLong);
  at::Tensor a = block->attention(x).index_select(1, perm);
  at::Tensor b = block->attention(x.index_select(1, perm));
  CHECK(at::allclose(a, b, 1e-5, 1e-5));
}

TEST_CASE("unpatchify places each token's patch where patchify took it") {
  DitConfig c = dit_size("tiny", 8, 2, 3);
  c.patch = 4;
  c.width = 32;
  DitModel m(c);
  // Token (gi, gj) carries its patch pixels in (row, col, channel) order.
  const std::int64_t g = 2, p = 4;
  at::Tensor img = at::arange(2 * 8 * 8, at::kFloat).reshape({1, 2, 8, 8});
  at::Tensor tokens = at::empty({1, g * g, p * p * 2});
  for (std::int64_t gi = 0; gi < g; ++gi)
    for (std::int64_t gj = 0; gj < g; ++gj)
      for (std::int64_t r = 0; r < p; ++r)
        for (std::int64_t q = 0; q < p; ++q)
          for (std::int64_t ch = 0; ch < 2; ++ch)
            tokens[0][gi * g + gj][(r * p + q) * 2 + ch] = img[0][ch][gi * p + r][gj * p + q];
  CHECK(at::equal(m->unpatchify(tokens), img));
}

TEST_CASE("bf16 autocast: same shapes and dtype, close to float32, gradients flow") {
  DitConfig c = dit_size("tiny");
  DitModel m = make_dit(c, 8);
  perturb(m, 9);
  at::Tensor x = at::randn({4, 1, 28, 28});
  at::Tensor t = at::rand({4});
  at::Tensor cond = at::tensor(std::vector<std::int64_t>{0, 1, 2, c.classes}, at::kLong);
  at::Tensor ref;
  {
    at::NoGradGuard no_grad;
    ref = m->forward(x, t, cond);
  }
  Compute compute;
  compute.bf16_autocast = true;
  at::Tensor v;
  {
    AutocastRegion region(compute);
    v = m->forward(x, t, cond);
  }
  CHECK((v.scalar_type() == at::kFloat));
  CHECK(v.sizes() == x.sizes());
  CHECK(at::isfinite(v).all().item<bool>());
  const double rel = ((v - ref).norm() / ref.norm()).item<double>();
  CHECK(rel < 0.05);
  CHECK(rel > 0);  // it did run in bf16
  v.pow(2).mean().backward();
  CHECK(m->named_parameters()["blocks.0.qkv.weight"].grad().abs().sum().item<double>() > 0);
}

TEST_CASE("sincos positional embedding: rows and columns are told apart") {
  at::Tensor e = sincos_pos_embed_2d(16, 3);
  CHECK(e.sizes() == at::IntArrayRef({9, 16}));
  at::Tensor d = at::cdist(e, e) + at::eye(9) * 100;
  CHECK(d.min().item<float>() > 0.1f);
  // Token 0 is (0, 0): sin parts 0, cos parts 1.
  CHECK(e[0].narrow(0, 0, 4).abs().max().item<float>() == 0.0f);
  CHECK(e[0].narrow(0, 4, 4).min().item<float>() == 1.0f);
}
