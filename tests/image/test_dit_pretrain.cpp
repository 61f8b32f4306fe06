#include <ATen/ATen.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "dit_pretrain.h"
#include "fashion_mnist.h"
#include "image_fixtures.h"
#include "rollout_reference.h"
#include "worker_recipe.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

bool same_weights(DitModel& a, DitModel& b) {
  auto pa = a->named_parameters(), pb = b->named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& item : pa)
    if (!at::equal(item.value(), pb[item.key()])) return false;
  return true;
}

DitPretrainConfig quick_recipe(std::int64_t steps) {
  DitPretrainConfig c = dit_pretrain_recipe("tiny");
  c.model.classes = 4;
  c.steps = steps;
  c.batch = 32;
  c.warmup = 10;
  c.checkpoint_every = 0;
  return c;
}

DitPretrainOptions quiet() {
  DitPretrainOptions o;
  o.progress = false;
  return o;
}

std::string worker() {
  const char* path = std::getenv("FLOWBP_DIT_WORKER");
  REQUIRE_MESSAGE(path, "FLOWBP_DIT_WORKER is not set (run through meson test)");
  return path;
}

// Runs the worker to completion; its stdout.
std::string run_worker(const std::string& cache) {
  std::string out;
  FILE* p = ::popen((worker() + " " + cache).c_str(), "r");
  REQUIRE(p);
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  REQUIRE(::pclose(p) == 0);
  return out;
}

}  // namespace

TEST_CASE("tiny pre-training lowers its loss and learns the classes") {
  const ImageDataset data = synthetic_dataset(4, 512, 128);
  DitPretrainConfig c = quick_recipe(400);
  DitModel model = make_dit(c.model, c.seed), ema(c.model);
  const double before = evaluate_flow_loss(model, data.test_images, data.test_labels, 3);
  const DitPretrainReport r = pretrain_dit(model, ema, data, c, quiet());
  const double after = evaluate_flow_loss(ema, data.test_images, data.test_labels, 3);
  CHECK(r.finished);
  CHECK(r.steps_done == 400);
  CHECK(r.final_loss < 0.7 * r.first_loss);
  CHECK(after < 0.6 * before);
  CHECK_FALSE(ema->is_training());
  // Conditional samples put their bar on their class's rows (2 + 6k … 5 + 6k).
  ClassSamples s = sample_classes(ema, 16, 20, 3.0, 9);
  CHECK(s.images.sizes() == at::IntArrayRef({64, 1, 28, 28}));
  at::Tensor row_mean = s.images.mean({1, 3}).reshape({4, 16, 28}).mean(1);  // [class, row]
  for (std::int64_t k = 0; k < 4; ++k) {
    CAPTURE(k);
    const double on = row_mean[k].narrow(0, 2 + 6 * k, 4).mean().item<double>();
    const double off = (row_mean[k].sum().item<double>() - 4 * on) / 24;
    CHECK(on > off + 0.5);
  }
}

TEST_CASE("the tiny recipe on the real Fashion-MNIST runs in under a minute") {
  if (!file_exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed: skipped");
    return;
  }
  const ImageDataset data = load_fashion_mnist();
  DitPretrainConfig c = dit_pretrain_recipe("tiny");
  DitModel model = make_dit(c.model, c.seed), ema(c.model);
  const DitPretrainReport r = pretrain_dit(model, ema, data, c, quiet());
  MESSAGE("tiny recipe: " << r.seconds << " s, loss " << r.first_loss << " -> " << r.final_loss);
  CHECK(r.seconds < 60);
  CHECK(r.final_loss < 0.8 * r.first_loss);
}

TEST_CASE("the cache: written once, verified, corrupt or truncated files rebuilt") {
  const ImageDataset data = synthetic_dataset(4, 256, 64);
  const DitPretrainConfig c = quick_recipe(30);
  const std::string dir = temp_dir("dit-cache") + "/nested";
  DitLoadInfo info;
  DitModel first = load_or_pretrain_dit(c, data, dir, &info, quiet());
  CHECK_FALSE(info.from_cache);
  CHECK(info.rejected.empty());
  CHECK(info.path == dir + "/dit-" + dit_cache_key(c, data) + ".bin");
  CHECK(file_exists(info.path));
  CHECK_FALSE(file_exists(dir + "/dit-" + info.key + ".ckpt"));
  CHECK(info.final_loss > 0);
  const double loss = info.final_loss;

  DitModel again = load_or_pretrain_dit(c, data, dir, &info, quiet());
  CHECK(info.from_cache);
  CHECK(info.final_loss == loss);
  CHECK(same_weights(first, again));
  CHECK_FALSE(again->is_training());

  flip_byte(info.path, 100);
  DitModel rebuilt = load_or_pretrain_dit(c, data, dir, &info, quiet());
  CHECK_FALSE(info.from_cache);
  CHECK(info.rejected == info.path + ": checksum mismatch");
  CHECK(same_weights(first, rebuilt));  // the settings alone determine the weights

  truncate_file(info.path, 1000);
  load_or_pretrain_dit(c, data, dir, &info, quiet());
  CHECK(info.rejected == info.path + ": truncated");
  load_or_pretrain_dit(c, data, dir, &info, quiet());
  CHECK(info.from_cache);

  // Every setting and the data are in the key; where checkpoints fall is not.
  DitPretrainConfig other = c;
  other.seed += 1;
  CHECK(dit_cache_key(other, data) != dit_cache_key(c, data));
  other = c;
  other.model.width = 32;
  CHECK(dit_cache_key(other, data) != dit_cache_key(c, data));
  other = c;
  other.p_uncond = 0.2;
  CHECK(dit_cache_key(other, data) != dit_cache_key(c, data));
  other = c;
  other.checkpoint_every = 7;
  CHECK(dit_cache_key(other, data) == dit_cache_key(c, data));
  CHECK(dit_cache_key(c, synthetic_dataset(4, 256, 64, 6)) != dit_cache_key(c, data));
}

TEST_CASE("an interrupted pre-training resumes from its checkpoint to the same weights") {
  const ImageDataset data = synthetic_dataset(4, 256, 64);
  DitPretrainConfig c = quick_recipe(120);
  c.checkpoint_every = 40;
  DitModel whole = make_dit(c.model, c.seed), whole_ema(c.model);
  pretrain_dit(whole, whole_ema, data, c, quiet());

  const std::string ckpt = temp_dir("dit-resume") + "/run.ckpt";
  DitPretrainOptions o = quiet();
  o.checkpoint_path = ckpt;
  o.stop_after = 100;  // "killed" at step 100: the checkpoint holds step 80
  DitModel part = make_dit(c.model, c.seed), part_ema(c.model);
  DitPretrainReport r = pretrain_dit(part, part_ema, data, c, o);
  CHECK_FALSE(r.finished);
  CHECK(r.steps_done == 100);
  REQUIRE(file_exists(ckpt));

  o.stop_after = -1;
  DitModel resumed = make_dit(c.model, 999), resumed_ema(c.model);  // other initial weights: all come from the checkpoint
  r = pretrain_dit(resumed, resumed_ema, data, c, o);
  CHECK(r.resumed_from == 80);
  CHECK(r.finished);
  CHECK(same_weights(resumed_ema, whole_ema));
  CHECK(same_weights(resumed, whole));

  // A damaged checkpoint is not trusted: a fresh start, with the reason.
  flip_byte(ckpt, 50);
  DitModel fresh = make_dit(c.model, c.seed), fresh_ema(c.model);
  r = pretrain_dit(fresh, fresh_ema, data, c, o);
  CHECK(r.resumed_from == 0);
  CHECK(r.rejected_checkpoint == "checksum mismatch");
  CHECK(same_weights(fresh_ema, whole_ema));
}

TEST_CASE("a killed pre-training process continues where its checkpoint left off") {
  const std::string cache = temp_dir("dit-kill");
  const DitPretrainConfig c = worker_recipe();
  const ImageDataset data = synthetic_dataset(4, 256, 64);
  const std::string key = dit_cache_key(c, data);
  const std::string ckpt = cache + "/dit-" + key + ".ckpt", bin = cache + "/dit-" + key + ".bin";

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl(worker().c_str(), worker().c_str(), cache.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!file_exists(ckpt) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(file_exists(ckpt));
  CHECK_FALSE(file_exists(bin));

  const std::string out = run_worker(cache);
  CAPTURE(out);
  CHECK(out.find("from_cache 0") != std::string::npos);
  CHECK(out.find("resumed_from 0\n") == std::string::npos);
  CHECK(file_exists(bin));
  CHECK_FALSE(file_exists(ckpt));

  DitLoadInfo info;
  DitModel from_worker = load_or_pretrain_dit(c, data, cache, &info, quiet());
  CHECK(info.from_cache);
  DitModel uninterrupted = load_or_pretrain_dit(c, data, temp_dir("dit-whole"), &info, quiet());
  CHECK_FALSE(info.from_cache);
  CHECK(same_weights(from_worker, uninterrupted));
}

TEST_CASE("the sampler: Euler with classifier-free guidance") {
  DitConfig mc = dit_size("tiny", 28, 1, 4);
  DitModel m = make_dit(mc, 1);
  {
    at::NoGradGuard no_grad;
    at::manual_seed(2);
    for (auto& p : m->parameters()) p.add_(at::randn_like(p) * 0.05);
  }
  at::Tensor noise = at::randn({3, 1, 28, 28});
  at::Tensor cond = at::tensor({0, 2, 3}, at::kLong);
  at::Tensor null = at::full({3}, mc.null_class(), at::kLong);
  auto cond_v = [&](const at::Tensor& x, double t) { return m->forward(x, t, cond); };
  auto null_v = [&](const at::Tensor& x, double t) { return m->forward(x, t, null); };
  CHECK(at::allclose(sample(m, cond, noise, 6, 1.0), reference_euler(cond_v, noise, 6), 1e-5, 1e-6));
  CHECK(at::allclose(sample(m, cond, noise, 6, 0.0), reference_euler(null_v, noise, 6), 1e-5, 1e-6));
  auto guided = [&](const at::Tensor& x, double t) {
    at::Tensor vu = null_v(x, t);
    return vu + 2.5 * (cond_v(x, t) - vu);
  };
  CHECK(at::allclose(sample(m, cond, noise, 6, 2.5), reference_euler(guided, noise, 6), 1e-5, 1e-5));
  // Guidance matters, and so does the shift of the time grid.
  CHECK_FALSE(at::allclose(sample(m, cond, noise, 6, 2.5), sample(m, cond, noise, 6, 1.0)));
  CHECK_FALSE(at::allclose(sample(m, cond, noise, 6, 2.5, 3.0), sample(m, cond, noise, 6, 2.5)));

  ClassSamples s = sample_classes(m, 3, 4, 2.0, 5, /*batch*/ 5);
  CHECK(s.images.sizes() == at::IntArrayRef({12, 1, 28, 28}));
  CHECK(at::equal(s.labels, at::tensor({0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}, at::kLong)));
  CHECK(at::allclose(sample_classes(m, 3, 4, 2.0, 5, 12).images, s.images, 1e-5, 1e-6));
  CHECK_FALSE(at::allclose(sample_classes(m, 3, 4, 2.0, 6).images, s.images));
}

TEST_CASE("pre-training settings are checked, naming the setting") {
  DitPretrainConfig c = dit_pretrain_recipe("tiny");
  c.t_sampling = "beta";
  CHECK_THROWS_WITH_AS(c.validate(), "DiT pre-training: t_sampling = 'beta': expected \"uniform\" or \"logit_normal\"",
                       std::invalid_argument);
  c = dit_pretrain_recipe("tiny");
  c.p_uncond = 1.0;
  CHECK_THROWS_WITH_AS(c.validate(), "DiT pre-training: p_uncond must be in [0, 1)", std::invalid_argument);
  c = dit_pretrain_recipe("tiny");
  c.warmup = c.steps + 1;
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);
  CHECK(dit_pretrain_recipe("small").model.width == dit_size("small").width);
  CHECK(dit_pretrain_recipe("base").model.patch == 2);
  // Data that does not fit the model is refused before any step.
  const ImageDataset data = synthetic_dataset(3, 16, 8);
  DitPretrainConfig q = quick_recipe(20);  // 4 classes, the data has 3
  DitModel m = make_dit(q.model, 1), e(q.model);
  CHECK_THROWS_WITH_AS(pretrain_dit(m, e, data, q, quiet()), "DiT pre-training: the data has 3 classes, the model 4",
                       std::invalid_argument);
}
