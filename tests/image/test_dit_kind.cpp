// backbone.kind = "dit" as a registered kind: its settings resolve to the sizes'
// recipes with overrides, the VelocityModel wrapper copies with its own storage, the
// shipped pre-trained files are found and verified (checksum and key), and the
// shipped small checkpoint and classifiers are the ones the current recipes name.
#include <ATen/ATen.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "dit_settings.h"
#include "dit_velocity.h"
#include "fashion_mnist.h"
#include "flowbp/image_classifier.h"
#include "flowbp/model_cache.h"
#include "flowbp/reward.h"
#include "flowbp/sealed_file.h"
#include "image_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

SettingValues dit_values(const std::map<std::string, SettingValue>& given) {
  return resolve_settings(dit_settings(), given, "backbone", "backbone.kind = \"dit\"");
}

// Sets an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  std::string old;
  bool had = false;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) {
      had = true;
      old = v;
    }
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had) ::setenv(name.c_str(), old.c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

DitPretrainOptions quiet() {
  DitPretrainOptions o;
  o.progress = false;
  return o;
}

}  // namespace

TEST_CASE("dit settings: the sizes' models and recipes, overrides, and what is refused") {
  const DitKindConfig small = DitKindConfig::from(dit_values({}));
  CHECK(small.size == "small");
  CHECK(small.pretrained);
  CHECK(small.data_dir == kFashionMnistDir);
  CHECK(small.model.describe() == dit_size("small").describe());
  // The defaults are the measured recipe: the shipped checkpoint's key depends on it.
  CHECK(small.pretrain.describe() == dit_pretrain_recipe("small").describe());
  CHECK(dit_conditions(dit_values({})) == 10);
  // The token count FLUX's dynamic time shift reads (sampling.image_seq_len = 0).
  const Catalog catalog = model_catalog(nullptr);
  const KindInfo* dit = catalog.backbone("dit");
  REQUIRE(dit != nullptr);
  REQUIRE(dit->image_seq_len);
  CHECK(dit->image_seq_len(dit_values({})) == 49);                                   // 28/4 squared
  CHECK(dit->image_seq_len(dit_values({{"size", std::string("tiny")}})) == 16);      // 28/7 squared
  CHECK(dit->image_seq_len(dit_values({{"size", std::string("scale")}, {"pretrained", false}})) == 1024);

  const DitKindConfig tiny = DitKindConfig::from(
      dit_values({{"size", std::string("tiny")}, {"width", std::int64_t{32}}, {"pretrain_steps", std::int64_t{50}},
                  {"pretrain_lr", 0.01}, {"t_sampling", std::string("uniform")}}));
  CHECK(tiny.model.width == 32);
  CHECK(tiny.model.depth == dit_size("tiny").depth);
  CHECK(tiny.pretrain.model.width == 32);
  CHECK(tiny.pretrain.steps == 50);
  CHECK(tiny.pretrain.lr == 0.01);
  CHECK(tiny.pretrain.t_sampling == "uniform");
  CHECK(tiny.pretrain.batch == dit_pretrain_recipe("tiny").batch);

  const auto scale_settings = dit_values({{"size", std::string("scale")}, {"pretrained", false}});
  const DitKindConfig scale = DitKindConfig::from(scale_settings);
  CHECK(scale.model.describe() == dit_scale_config(1000).describe());
  CHECK(dit_conditions(scale_settings) == 1000);
  // Random weights read no data: the check passes without it.
  check_dit_settings(dit_values({{"size", std::string("scale")}, {"pretrained", false},
                                 {"data_dir", std::string("/nonexistent")}}),
                     {});

  auto refused = [](const std::map<std::string, SettingValue>& given, const std::string& key, const std::string& part) {
    try {
      check_dit_settings(dit_values(given), {});
      FAIL("accepted: " << key);
    } catch (const SettingError& e) {
      CHECK(e.key() == key);
      CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
  };
  refused({{"size", std::string("scale")}}, "backbone.pretrained", "set backbone.pretrained = false");
  refused({{"size", std::string("tiny")}, {"heads", std::int64_t{5}}}, "backbone.heads", "must divide width 64");
  refused({{"size", std::string("tiny")}, {"patch", std::int64_t{5}}}, "backbone.patch", "must divide the image size 28");
  refused({{"width", std::int64_t{130}}, {"heads", std::int64_t{2}}}, "backbone.width", "multiple of 4");
  refused({{"size", std::string("tiny")}, {"pretrain_warmup", std::int64_t{400}}}, "backbone.pretrain_warmup",
          "exceed the 300 pre-training steps");
  const std::string missing = temp_dir("no-data") + "/absent";
  refused({{"data_dir", missing}}, "backbone.data_dir", missing);
}

TEST_CASE("the DiT behind VelocityModel: forward, tensors by name, clones with their own storage") {
  DitModel net = make_dit(dit_size("tiny"), 3);
  auto model = wrap_dit(net);
  const at::Tensor x = at::randn({2, 1, 28, 28});
  const at::Tensor cond = at::tensor(std::vector<std::int64_t>{1, 10});
  CHECK(at::equal(model->forward(x, 0.5, cond), net->forward(x, 0.5, cond)));
  const auto named = model->named_tensors();
  CHECK(named.size() == net->named_parameters().size() + net->named_buffers().size());
  CHECK(model->parameters().size() == net->parameters().size());

  auto copy = model->clone();
  CHECK(dit_of(*copy).get() != net.get());
  {
    at::NoGradGuard no_grad;
    dit_of(*copy)->parameters().front().add_(1.0);
  }
  CHECK_FALSE(at::equal(copy->parameters().front(), model->parameters().front()));
  copy_tensors(*copy, *model);
  CHECK(at::equal(copy->forward(x, 0.3, cond), model->forward(x, 0.3, cond)));
  model->eval();
  CHECK_FALSE(net->is_training());
}

TEST_CASE("shipped pre-trained files: found after the cache, trusted only with their checksum and key") {
  const ImageDataset data = synthetic_dataset(4, 256, 64);
  DitPretrainConfig c = dit_pretrain_recipe("tiny");
  c.model.classes = 4;
  c.steps = 20;
  c.warmup = 5;
  const std::string made = temp_dir("made"), shipped = temp_dir("shipped");
  DitLoadInfo info;
  const ScopedEnv none("FLOWBP_PRETRAINED_DIR", "");
  CHECK(shipped_models_dir().empty());
  DitModel original = load_or_pretrain_dit(c, data, made, &info, quiet());
  REQUIRE_FALSE(info.from_cache);
  const std::string name = "dit-" + info.key + ".bin";
  write_file(shipped + "/" + name, read_file(made + "/" + name));

  {
    const ScopedEnv env("FLOWBP_PRETRAINED_DIR", shipped);
    CHECK(shipped_models_dir() == shipped);
    const std::string cache = temp_dir("empty-cache");
    DitModel loaded = load_or_pretrain_dit(c, data, cache, &info, quiet());
    CHECK(info.from_cache);
    CHECK(info.shipped);
    CHECK(info.path == shipped + "/" + name);
    CHECK(at::equal(loaded->parameters().back(), original->parameters().back()));
    CHECK_FALSE(file_exists(cache + "/" + name));  // read in place, not copied

    // A file that claims another key (renamed) is not trusted.
    DitPretrainConfig other = c;
    other.seed += 1;
    const std::string other_name = "dit-" + dit_cache_key(other, data) + ".bin";
    write_file(shipped + "/" + other_name, read_file(shipped + "/" + name));
    load_or_pretrain_dit(other, data, temp_dir("cache-2"), &info, quiet());
    CHECK_FALSE(info.from_cache);
    CHECK(info.rejected.find(shipped + "/" + other_name + ": ") == 0);

    // A damaged shipped file is reported and the model trained anew, into the cache.
    flip_byte(shipped + "/" + name, 50);
    const std::string cache3 = temp_dir("cache-3");
    load_or_pretrain_dit(c, data, cache3, &info, quiet());
    CHECK_FALSE(info.from_cache);
    CHECK(info.rejected == shipped + "/" + name + ": checksum mismatch");
    CHECK(info.path == cache3 + "/" + name);
    CHECK(file_exists(info.path));
  }
}

TEST_CASE("a cache file is built once: a second builder waits for the first's lock") {
  const std::string path = temp_dir("lock") + "/model.bin";
  std::atomic<bool> got{false};
  std::thread waiter;
  {
    CacheBuildLock first(path, nullptr);
    waiter = std::thread([&] {
      CacheBuildLock second(path, nullptr);
      got = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK_FALSE(got);
  }
  waiter.join();
  CHECK(got);
}

TEST_CASE("the shipped small checkpoint and classifiers are the current recipes' (when the data is installed)") {
  if (!file_exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: Fashion-MNIST is not installed");
    return;
  }
  const std::string dir = shipped_models_dir();
  REQUIRE_MESSAGE(!dir.empty(), "no shipped pretrained/ folder found");
  const ImageDataset data = load_fashion_mnist();
  // If a recipe or the data's fingerprint changes, the shipped files no longer match and
  // every image study would silently start with an hour of pre-training: regenerate them
  // with `flowbp pretrain experiments/fashion_mnist.toml` (docs/IMAGES.md).
  const std::string key = dit_cache_key(DitKindConfig::from(dit_values({})).pretrain, data);
  std::string payload, why;
  CHECK_MESSAGE(read_sealed_file(dir + "/dit-" + key + ".bin", "dit backbone " + key, payload, why), why);
  for (const ClassifierTrainConfig& c : {reward_classifier_recipe(), evaluator_recipe()}) {
    const std::string k = classifier_cache_key(c, data);
    CHECK_MESSAGE(read_sealed_file(dir + "/image-classifier-" + arch_name(c.arch) + "-" + k + ".bin",
                                   "image classifier " + arch_name(c.arch) + " " + k, payload, why),
                  why);
  }
}
