// Measurement driver for the image components (not a test): time per pre-training
// step, the full pre-training of a size, sample metrics.
#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <zlib.h>

#include "dit_pretrain.h"
#include "fashion_mnist.h"
#include "flowbp/image_evaluator.h"
#include "ink_reward.h"
#include "flowbp/compute_threads.h"

using namespace flowbp;

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == "--" + name) return argv[i + 1];
  return fallback;
}

// A grey PNG of images [n, 1, H, W] in [-1, 1], `cols` per row.
void write_png_grid(const std::string& path, const at::Tensor& images, int cols) {
  at::Tensor x = ((images.detach().cpu().to(at::kFloat).clamp(-1, 1) + 1) * 127.5).round().to(at::kByte);
  const int n = static_cast<int>(x.size(0)), h = static_cast<int>(x.size(2)), w = static_cast<int>(x.size(3));
  const int rows = (n + cols - 1) / cols, W = cols * (w + 2), H = rows * (h + 2);
  std::vector<unsigned char> raw(static_cast<std::size_t>(H) * (W + 1), 0);
  auto acc = x.accessor<std::uint8_t, 4>();
  for (int k = 0; k < n; ++k)
    for (int i = 0; i < h; ++i)
      for (int j = 0; j < w; ++j)
        raw[static_cast<std::size_t>((k / cols) * (h + 2) + 1 + i) * (W + 1) + 1 + (k % cols) * (w + 2) + 1 + j] =
            acc[k][0][i][j];
  uLongf len = compressBound(raw.size());
  std::vector<unsigned char> z(len);
  compress(z.data(), &len, raw.data(), raw.size());
  z.resize(len);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  auto be32 = [](std::vector<unsigned char>& v, std::uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<unsigned char>(x >> s));
  };
  auto chunk = [&](const char* type, const std::vector<unsigned char>& data) {
    std::vector<unsigned char> c;
    be32(c, static_cast<std::uint32_t>(data.size()));
    c.insert(c.end(), type, type + 4);
    c.insert(c.end(), data.begin(), data.end());
    be32(c, static_cast<std::uint32_t>(crc32(0, c.data() + 4, static_cast<uInt>(c.size() - 4))));
    std::fwrite(c.data(), 1, c.size(), f);
  };
  std::fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
  std::vector<unsigned char> ihdr;
  be32(ihdr, static_cast<std::uint32_t>(W));
  be32(ihdr, static_cast<std::uint32_t>(H));
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});
  chunk("IHDR", ihdr);
  chunk("IDAT", z);
  chunk("IEND", {});
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: image_tool time-steps|params|pretrain|ink-stats|train-classifier|rewards|evaluate [--size S] [--threads T] [--steps N]\n"
                 "       [--cache DIR] [--data DIR] [--png FILE] [--per-class N] [--sample-steps N] [--guidance g1,g2]\n"
                 "       [--png-prefix P] [--hack-at g]\n");
    return 2;
  }
  const std::string cmd = argv[1];
  const int threads = std::atoi(arg(argc, argv, "threads", "1").c_str());
  set_compute_threads(threads);
  at::globalContext().setFlushDenormal(true);
  const std::string size = arg(argc, argv, "size", "small");
  DitPretrainConfig config = dit_pretrain_recipe(size);
  const std::string data_dir = arg(argc, argv, "data", kFashionMnistDir);
  auto t0 = std::chrono::steady_clock::now();
  ImageDataset data = load_fashion_mnist(data_dir);
  std::printf("loaded %s in %.2fs (fingerprint %s)\n", data.source.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), data.fingerprint.c_str());
  if (cmd == "time-steps") {
    config.steps = std::atoi(arg(argc, argv, "steps", "20").c_str());
    config.batch = std::atoi(arg(argc, argv, "batch", std::to_string(config.batch)).c_str());
    config.warmup = 0;
    config.model.width = std::atoi(arg(argc, argv, "width", std::to_string(config.model.width)).c_str());
    config.model.depth = std::atoi(arg(argc, argv, "depth", std::to_string(config.model.depth)).c_str());
    config.model.heads = std::atoi(arg(argc, argv, "heads", std::to_string(config.model.heads)).c_str());
    config.model.patch = std::atoi(arg(argc, argv, "patch", std::to_string(config.model.patch)).c_str());
    DitModel model = make_dit(config.model, 1), ema = make_dit(config.model, 2);
    std::printf("params %lld\n", static_cast<long long>(model->parameter_count()));
    DitPretrainOptions opt;
    opt.progress = false;
    config.steps = 3;
    pretrain_dit(model, ema, data, config, opt);  // warm-up
    config.steps = std::atoi(arg(argc, argv, "steps", "20").c_str());
    DitPretrainReport r = pretrain_dit(model, ema, data, config, opt);
    std::printf("%s width %lld depth %lld patch %lld batch %lld threads %d: %.3f s/step (loss %.4f)\n", size.c_str(),
                (long long)config.model.width, (long long)config.model.depth, (long long)config.model.patch,
                (long long)config.batch, threads, r.seconds / static_cast<double>(config.steps), r.final_loss);
    return 0;
  }
  if (cmd == "params") {  // parameter counts; the scaling configuration built once, timed
    for (const char* name : {"tiny", "small", "base"})
      std::printf("%s: %lld parameters\n", name, static_cast<long long>(make_dit(dit_size(name), 1)->parameter_count()));
    auto t1 = std::chrono::steady_clock::now();
    DitModel scale = make_dit(dit_scale_config(), 1);
    std::printf("scale (%s): %lld parameters, built in %.1f s\n", dit_scale_config().describe().c_str(),
                static_cast<long long>(scale->parameter_count()),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
    return 0;
  }
  if (cmd == "pretrain") {
    const std::string cache = arg(argc, argv, "cache", std::string(std::getenv("HOME")) + "/.cache/flowbp");
    DitLoadInfo info;
    DitModel model = load_or_pretrain_dit(config, data, cache, &info);
    const std::string png = arg(argc, argv, "png", "");
    if (!png.empty()) {
      ClassSamples s = sample_classes(model, 8, std::atoi(arg(argc, argv, "sample-steps", "25").c_str()),
                                      std::atof(arg(argc, argv, "guidance", "3").c_str()), 11);
      write_png_grid(png, s.images, 8);
    }
    std::printf("path %s\nfrom_cache %d rejected '%s' resumed_from %lld\nfinal_loss %.5f pretrain_seconds %.1f\n",
                info.path.c_str(), info.from_cache ? 1 : 0, info.rejected.c_str(), (long long)info.resumed_from,
                info.final_loss, info.pretrain_seconds);
    return 0;
  }
  const std::string cache = arg(argc, argv, "cache", std::string(std::getenv("HOME")) + "/.cache/flowbp");
  if (cmd == "ink-stats") {
    InkCoverageReward ink(InkRewardConfig{}, data.classes);
    at::Tensor v = ink.ink(data.train_images);
    at::Tensor linear = ((data.train_images + 1) / 2).flatten(1).mean(1);
    std::printf("ink sigma(3x): all %.4f (std %.4f); (x+1)/2: %.4f\n", v.mean().item<double>(),
                v.std().item<double>(), linear.mean().item<double>());
    for (std::int64_t k = 0; k < data.classes; ++k) {
      at::Tensor sel = v.index_select(0, at::nonzero(data.train_labels.eq(k)).squeeze(1));
      std::printf("  class %lld %-12s ink %.4f  (p5 %.4f, p95 %.4f)\n", (long long)k,
                  fashion_mnist_class_names()[k].c_str(), sel.mean().item<double>(),
                  sel.quantile(0.05).item<double>(), sel.quantile(0.95).item<double>());
    }
    return 0;
  }
  if (cmd == "train-classifier") {  // a recipe with overrides, not cached: for choosing recipes
    ClassifierTrainConfig c = arg(argc, argv, "arch", "evaluator-wide") == "reward-cnn" ? reward_classifier_recipe()
                                                                                      : evaluator_recipe();
    c.steps = std::atoi(arg(argc, argv, "steps", std::to_string(c.steps)).c_str());
    c.batch = std::atoi(arg(argc, argv, "batch", std::to_string(c.batch)).c_str());
    c.lr = std::atof(arg(argc, argv, "lr", std::to_string(c.lr)).c_str());
    at::manual_seed(c.seed);
    ImageClassifier net(c.arch, 1, 28, data.classes);
    ClassifierReport r = train_classifier(net, data, c);
    std::printf("%s: test accuracy %.4f, final loss %.4f, %.1f s\n", c.describe().c_str(), r.test_accuracy,
                r.final_loss, r.seconds);
    return 0;
  }
  if (cmd == "rewards" || cmd == "evaluate") {
    ClassifierLoadInfo rinfo;
    auto t1 = std::chrono::steady_clock::now();
    ImageClassifier reward_net = load_or_train_classifier(reward_classifier_recipe(), data, cache, &rinfo);
    std::printf("reward classifier %s: from_cache %d, test accuracy %.4f, final loss %.4f, trained in %.1fs (call %.1fs)\n",
                rinfo.path.c_str(), rinfo.from_cache ? 1 : 0, rinfo.test_accuracy, rinfo.final_loss,
                rinfo.train_seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
    EvaluatorLoadInfo einfo;
    t1 = std::chrono::steady_clock::now();
    HeldOutEvaluator evaluator = load_or_train_evaluator(data, cache, &einfo);
    std::printf("evaluator %s: from_cache %d, test accuracy %.4f, final loss %.4f, trained in %.1fs; stats %s from_cache %d (call %.1fs)\n",
                einfo.classifier.path.c_str(), einfo.classifier.from_cache ? 1 : 0, einfo.classifier.test_accuracy,
                einfo.classifier.final_loss, einfo.classifier.train_seconds, einfo.stats_path.c_str(),
                einfo.stats_from_cache ? 1 : 0, std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
    ClassifierLogProbReward align(reward_net);
    InkCoverageReward ink(InkRewardConfig{}, data.classes);
    const std::int64_t per_class = std::atoi(arg(argc, argv, "per-class", "100").c_str());
    auto row = [&](const std::string& name, const at::Tensor& x, const at::Tensor& c, double secs) {
      at::NoGradGuard no_grad;
      ImageEvalScores e = evaluator.score(x, c);
      std::printf("| %-28s | %6.4f | %8.4f | %7.3f | %6.3f | %8.4f | %7.4f | %6.4f | %6.1f |\n", name.c_str(), e.accuracy,
                  e.ood_reward, e.fid, e.diversity, align(x, c).mean().item<double>(), ink(x, c).mean().item<double>(),
                  ink.ink(x).mean().item<double>(), secs);
      std::fflush(stdout);
    };
    std::printf("| samples | eval acc | ood log p | FID | diversity | align log p | ink reward | ink | seconds |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    // Real images, per_class of each class: the floor of FID and the diversity of data at this n.
    auto balanced = [&](const at::Tensor& images, const at::Tensor& labels) {
      std::vector<at::Tensor> idx;
      for (std::int64_t k = 0; k < data.classes; ++k)
        idx.push_back(at::nonzero(labels.eq(k)).squeeze(1).narrow(0, 0, per_class));
      at::Tensor i = at::cat(idx);
      return std::make_pair(images.index_select(0, i), labels.index_select(0, i));
    };
    auto test_sub = balanced(data.test_images, data.test_labels);
    row("real test images", test_sub.first, test_sub.second, 0);
    auto train_sub = balanced(data.train_images.narrow(0, 0, 30000), data.train_labels.narrow(0, 0, 30000));
    row("real train images (1st half)", train_sub.first, train_sub.second, 0);
    if (cmd == "evaluate") {
      DitLoadInfo dinfo;
      DitModel model = load_or_pretrain_dit(config, data, cache, &dinfo);
      std::fprintf(stderr, "DiT %s from_cache %d final_loss %.5f pretrain_seconds %.1f\n", dinfo.path.c_str(),
                   dinfo.from_cache ? 1 : 0, dinfo.final_loss, dinfo.pretrain_seconds);
      const int steps = std::atoi(arg(argc, argv, "sample-steps", "25").c_str());
      std::string list = arg(argc, argv, "guidance", "1,2,3,4");
      std::size_t pos = 0;
      while (pos <= list.size()) {
        const std::size_t end = std::min(list.find(',', pos), list.size());
        const double g = std::atof(list.substr(pos, end - pos).c_str());
        pos = end + 1;
        auto t2 = std::chrono::steady_clock::now();
        ClassSamples smp = sample_classes(model, per_class, steps, g, 1234);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
        char name[64];
        std::snprintf(name, sizeof name, "DiT %s, g=%.1f, N=%d", size.c_str(), g, steps);
        row(name, smp.images, smp.labels, secs);
        const std::string png = arg(argc, argv, "png-prefix", "");
        if (!png.empty()) {
          at::Tensor first8 = smp.images.reshape({data.classes, per_class, 1, 28, 28}).narrow(1, 0, 8).reshape({-1, 1, 28, 28});
          char path[512];
          std::snprintf(path, sizeof path, "%s-g%.1f.png", png.c_str(), g);
          write_png_grid(path, first8, 8);
        }
        if (g == std::atof(arg(argc, argv, "hack-at", "-1").c_str())) {
          // Pixel-space ascent on the ink reward from these samples: what maximising it does.
          for (int k : {5, 20, 60}) {
            at::Tensor x = smp.images.clone();
            for (int i = 0; i < k; ++i) {
              at::Tensor xg = x.clone().requires_grad_(true);
              ink(xg, smp.labels).sum().backward();
              x = x + 0.5 * xg.grad() * static_cast<double>(x.size(2) * x.size(3));
            }
            char hname[64];
            std::snprintf(hname, sizeof hname, "  + %d ink-ascent steps", k);
            row(hname, x, smp.labels, 0);
            if (!png.empty() && k == 60) {
              at::Tensor first8 = x.reshape({data.classes, per_class, 1, 28, 28}).narrow(1, 0, 8).reshape({-1, 1, 28, 28});
              write_png_grid(png + "-ink-ascent.png", first8, 8);
            }
          }
        }
      }
    }
    return 0;
  }
  std::fprintf(stderr, "unknown command %s\n", cmd.c_str());
  return 2;
}
