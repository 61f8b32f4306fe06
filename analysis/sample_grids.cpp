#include "sample_grids.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "bitmap_font.h"
#include "flowbp/run_log.h"
#include "png_writer.h"

namespace flowbp::analysis {

namespace {

// Panels are spread over at most this many columns; captions are drawn at kTextScale.
constexpr int kPanelColumns = 3, kTextScale = 2, kGap = 2, kMargin = 16;

// What decides the evaluation noise of a grid: the same values mean the same noise
// and conditions for every image of the grid (trainer: EvalSuite).
const char* const kNoiseKeys[] = {"eval.noise_seed", "eval.samples_per_condition", "eval.held_out_conditions"};

struct Grid {
  SamplePanel panel;
  SampleGridSpec spec;
  std::vector<std::uint8_t> pixels;  // spec.bytes()
  std::vector<std::string> noise;    // the kNoiseKeys values of its run
};

std::vector<std::string> noise_of(const RunRecord& run) {
  std::vector<std::string> out;
  for (const char* key : kNoiseKeys) {
    auto it = run.config.find(key);
    out.push_back(it == run.config.end() ? "" : it->second.text());
  }
  return out;
}

// The grid of `run` logged with is_base = want_base (the last such row), if any.
std::optional<Grid> grid_of(const RunRecord& run, bool want_base, std::vector<std::string>& notes) {
  SampleGrids grids;
  try {
    grids = read_run_log_samples(run.path);
  } catch (const std::exception& e) {
    notes.push_back(std::string(e.what()) + "; its sample grid is left out");
    return std::nullopt;
  }
  if (grids.spec.empty()) return std::nullopt;
  for (std::int64_t r = grids.rows() - 1; r >= 0; --r) {
    if ((grids.is_base[static_cast<std::size_t>(r)] != 0) != want_base) continue;
    Grid g;
    g.panel.source = run.path;
    g.panel.step = grids.step[static_cast<std::size_t>(r)];
    g.panel.seed = run.seed;
    g.spec = grids.spec;
    g.pixels.assign(grids.grid(r), grids.grid(r) + grids.spec.bytes());
    g.noise = noise_of(run);
    return g;
  }
  return std::nullopt;
}

std::vector<const RunRecord*> by_seed(const Group& g) {
  std::vector<const RunRecord*> runs = g.runs;
  std::stable_sort(runs.begin(), runs.end(), [](const RunRecord* a, const RunRecord* b) { return a->seed < b->seed; });
  return runs;
}

// Rows = distinct conditions in order of appearance, columns = their images.
struct Layout {
  std::vector<std::int64_t> conditions;
  int per_row = 0;
};

Layout layout_of(const SampleGridSpec& spec) {
  Layout l;
  std::map<std::int64_t, int> count;
  for (auto c : spec.conditions) {
    if (!count.count(c)) l.conditions.push_back(c);
    l.per_row = std::max(l.per_row, ++count[c]);
  }
  return l;
}

std::string fit(const std::string& text, int width_px) {
  std::string t = text;
  while (!t.empty() && text_width(t, kTextScale) > width_px) t.pop_back();
  return t;
}

SampleFigure draw(const std::vector<Grid>& grids, const std::string& path) {
  const SampleGridSpec& spec = grids.front().spec;
  const Layout layout = layout_of(spec);
  const int h = static_cast<int>(spec.height), w = static_cast<int>(spec.width);
  const int scale = std::max(h, w) <= 32 ? 2 : 1;  // Fashion-MNIST's 28 px drawn at 56
  const int cell_w = w * scale + kGap, cell_h = h * scale + kGap;
  const int panel_w = layout.per_row * cell_w - kGap, caption_h = (kGlyphHeight + 4) * kTextScale;
  const int panel_h = caption_h + static_cast<int>(layout.conditions.size()) * cell_h - kGap;
  const int columns = std::min<int>(kPanelColumns, static_cast<int>(grids.size()));
  const int rows = (static_cast<int>(grids.size()) + columns - 1) / columns;
  const int channels = spec.channels == 3 ? 3 : 1;
  Picture pic(kMargin + columns * (panel_w + kMargin), kMargin + rows * (panel_h + kMargin), channels, 255);
  SampleFigure fig;
  fig.path = path;
  fig.rows = static_cast<int>(layout.conditions.size());
  fig.columns = layout.per_row;
  for (std::size_t i = 0; i < grids.size(); ++i) {
    const Grid& g = grids[i];
    const int left = kMargin + static_cast<int>(i) % columns * (panel_w + kMargin);
    const int top = kMargin + static_cast<int>(i) / columns * (panel_h + kMargin);
    draw_text(pic, left, top, fit(g.panel.label, panel_w), kTextScale, 0);
    std::map<std::int64_t, int> used;  // images placed per condition
    const std::size_t image_bytes = static_cast<std::size_t>(h * w) * static_cast<std::size_t>(spec.channels);
    for (std::size_t k = 0; k < spec.conditions.size(); ++k) {
      const std::int64_t c = spec.conditions[k];
      const int row = static_cast<int>(std::find(layout.conditions.begin(), layout.conditions.end(), c) -
                                       layout.conditions.begin());
      const int col = used[c]++;
      const std::uint8_t* src = g.pixels.data() + k * image_bytes;
      for (int y = 0; y < h * scale; ++y)
        for (int x = 0; x < w * scale; ++x) {
          const std::uint8_t* px = src + (static_cast<std::size_t>(y / scale) * static_cast<std::size_t>(w) +
                                          static_cast<std::size_t>(x / scale)) *
                                             static_cast<std::size_t>(spec.channels);
          std::uint8_t* out = pic.at(left + col * cell_w + x, top + caption_h + row * cell_h + y);
          for (int ch = 0; ch < channels; ++ch) out[ch] = px[ch];
        }
    }
    fig.panels.push_back(g.panel);
  }
  write_png(path, pic);
  return fig;
}

}  // namespace

std::vector<SampleFigure> write_sample_grids(Report& report, const std::string& figures_dir) {
  std::vector<SampleFigure> figures;
  const MainTable& table = report.table;
  for (std::size_t b = 0; b < table.backbones.size(); ++b) {
    std::vector<Grid> grids;
    std::vector<std::string> notes;
    for (const Group& g : table.rows) {
      if (g.backbone != b) continue;
      const auto runs = by_seed(g);
      if (grids.empty())  // the base model: the same for every run on this backbone
        for (const RunRecord* run : runs)
          if (auto base = grid_of(*run, true, notes)) {
            base->panel.label = table.base_label(b);
            grids.push_back(*base);
            break;
          }
      for (const RunRecord* run : runs) {
        auto ema = grid_of(*run, false, notes);
        if (!ema) continue;
        ema->panel.label = g.name;
        if (!grids.empty() && (ema->spec.conditions != grids.front().spec.conditions ||
                               ema->spec.height != grids.front().spec.height ||
                               ema->spec.width != grids.front().spec.width ||
                               ema->spec.channels != grids.front().spec.channels || ema->noise != grids.front().noise)) {
          notes.push_back(run->path + ": its sample grid was drawn from other evaluation noise or conditions than "
                          "the base model's (eval.noise_seed, samples_per_condition or held_out_conditions differ); "
                          "left out of the sample grid figure");
          continue;
        }
        grids.push_back(*ema);
        break;  // one grid per row: its lowest seed's
      }
    }
    report.notes.insert(report.notes.end(), notes.begin(), notes.end());
    if (grids.size() < 1) continue;
    std::filesystem::create_directories(figures_dir);
    const std::string name = table.backbones.size() > 1 ? "samples_" + std::to_string(b) + ".png" : "samples.png";
    figures.push_back(draw(grids, (std::filesystem::path(figures_dir) / name).string()));
    report.figures.push_back(figures.back().path);
  }
  return figures;
}

}  // namespace flowbp::analysis
