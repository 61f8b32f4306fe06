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
    std::fprintf(stderr, "usage: image_tool time-steps|pretrain [--size S] [--threads T] [--steps N] [--cache DIR]\n");
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
  std::fprintf(stderr, "unknown command %s\n", cmd.c_str());
  return 2;
}
