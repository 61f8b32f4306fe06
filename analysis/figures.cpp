#include "figures.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "gnuplot.h"
#include "text_format.h"

namespace flowbp::analysis {

namespace {

// One line of a figure: x, its centre (mean over seeds) and the band [lo, hi] (mean ± std, or ± 95% CI).
struct Curve {
  std::string title;
  std::vector<double> x, mean, lo, hi;
  bool empty() const { return x.empty(); }
  bool all_nan() const {
    return std::all_of(mean.begin(), mean.end(), [](double v) { return std::isnan(v); });
  }
};

// A band around the mean of a quantity that is never negative (a norm, a residual, a
// memory size, a time: every value seen is >= 0) stops at 0: mean − std below 0 would
// draw values the quantity cannot take.
void clip_at_zero(Curve& c) {
  for (double& v : c.lo)
    if (v < 0) v = 0;
}

// A column over training for one group: at each step value, the mean ± std of the
// finite values across seeds (a seed that diverged leaves a gap, not a spike to inf).
// `defined_only` leaves out the steps where no seed has a value, so a column that is
// defined on some steps only (r_s) draws as one line through those steps.
Curve step_curve(const Group& g, const std::string& column, bool eval_table, std::vector<std::string>& notes,
                 bool defined_only = false, bool clip_nonnegative = true) {
  std::map<double, std::vector<double>> at_step;
  bool nonnegative = true;
  for (const RunRecord* run : g.runs) {
    const Columns& cols = eval_table ? run->eval : run->steps;
    auto values = cols.find(column);
    if (values == cols.end()) {
      notes.push_back(run->path + ": missing column " + std::string(eval_table ? "/eval/" : "/steps/") + column +
                      "; left out of its figure");
      continue;
    }
    const auto& steps = cols.at("step");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      auto& bucket = at_step[steps[i]];
      if (std::isfinite(values->second[i])) {
        bucket.push_back(values->second[i]);
        nonnegative = nonnegative && values->second[i] >= 0;
      }
    }
  }
  Curve c;
  c.title = g.label();
  for (const auto& [step, values] : at_step) {
    if (values.empty() && defined_only) continue;
    double mean = NAN, sd = 0;
    if (!values.empty()) {
      const Summary s = summarize(values);
      mean = s.mean;
      sd = s.n > 1 ? s.stddev : 0;
    }
    c.x.push_back(step);
    c.mean.push_back(mean);
    c.lo.push_back(mean - sd);
    c.hi.push_back(mean + sd);
  }
  if (nonnegative && clip_nonnegative) clip_at_zero(c);
  return c;
}

// For a log axis: at each step, the geometric mean of the seeds' values above `floor` and
// the band from their minimum to their maximum (always > 0). Values <= floor (0, or a
// floor standing for "numerically zero") are not drawn: they are counted (`nonpositive`)
// and their steps listed, never dropped silently.
struct LogCurve {
  Curve curve;
  std::size_t nonpositive = 0;
  std::vector<double> nonpositive_steps;  // steps where at least one seed's value is <= floor
};

LogCurve log_step_curve(const Group& g, const std::string& column, double floor, std::vector<std::string>& notes) {
  std::map<double, std::vector<double>> at_step;
  LogCurve out;
  std::set<double> zero_steps;
  for (const RunRecord* run : g.runs) {
    auto values = run->steps.find(column);
    if (values == run->steps.end()) {
      notes.push_back(run->path + ": missing column /steps/" + column + "; left out of its figure");
      continue;
    }
    const auto& steps = run->steps.at("step");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const double v = values->second[i];
      auto& bucket = at_step[steps[i]];
      if (!std::isfinite(v)) continue;
      if (v > floor) {
        bucket.push_back(v);
      } else {
        ++out.nonpositive;
        zero_steps.insert(steps[i]);
      }
    }
  }
  out.curve.title = g.label();
  for (const auto& [step, values] : at_step) {
    double centre = NAN, lo = NAN, hi = NAN;
    if (!values.empty()) {
      double log_sum = 0;
      for (double v : values) log_sum += std::log(v);
      centre = std::exp(log_sum / static_cast<double>(values.size()));
      lo = *std::min_element(values.begin(), values.end());
      hi = *std::max_element(values.begin(), values.end());
    }
    out.curve.x.push_back(step);
    out.curve.mean.push_back(centre);
    out.curve.lo.push_back(lo);
    out.curve.hi.push_back(hi);
  }
  out.nonpositive_steps.assign(zero_steps.begin(), zero_steps.end());
  return out;
}

std::string safe_name(const std::string& s) {
  std::string out;
  for (char ch : s) out += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ? ch : '_';
  return out;
}

class FigureWriter {
 public:
  FigureWriter(Report& report, std::string dir) : report_(report), dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_ + "/data");
  }

  std::string data_file(const std::string& figure, std::size_t index, const Curve& c) {
    const std::string path = dir_ + "/data/" + figure + "_" + std::to_string(index) + ".dat";
    std::ofstream out(path);
    out << "# " << c.title << "\n# x mean lo hi\n";
    for (std::size_t i = 0; i < c.x.size(); ++i)
      out << fmt_exact(c.x[i]) << ' ' << fmt_gp(c.mean[i]) << ' ' << fmt_gp(c.lo[i]) << ' ' << fmt_gp(c.hi[i]) << '\n';
    return path;
  }

  // Lines with a translucent band, one colour per curve; `suffix` is added to each legend entry.
  std::string band_plot(const std::string& figure, const std::vector<Curve>& curves, std::size_t first_index = 0,
                        const std::string& suffix = "", const std::vector<std::size_t>& colours = {},
                        bool points = false) {
    std::string plot = "plot ";
    for (std::size_t i = 0; i < curves.size(); ++i) {
      const std::string f = gnuplot_quote(data_file(figure, first_index + i, curves[i]));
      const std::size_t c = colours.empty() ? i : colours[i];
      plot += (i ? ", \\\n     " : "") + f + " u 1:3:4 w filledcurves fs transparent solid 0.2 noborder " +
              colour(c) + " notitle, \\\n     " + f + " u 1:2 w " + (points ? "lp pt 7 ps 0.8" : "l") + " lw 2 " + colour(c) + dash(c) + " title " +
              gnuplot_quote(curves[i].title + suffix);
    }
    return plot + "\n";
  }

  // The pixels a legend of these entries needs (Sans 10 in pngcairo: about 7.5 px a
  // character at most, plus the line sample and padding).
  static int legend_px(const std::vector<std::string>& titles) {
    std::size_t longest = 0;
    for (const auto& t : titles) {
      std::size_t chars = 0;
      for (unsigned char ch : t) chars += (ch & 0xC0) != 0x80;  // UTF-8 code points
      longest = std::max(longest, chars);
    }
    return static_cast<int>(longest) * 15 / 2 + 80;
  }

  // The legend right of the plot area, outside it, so it covers no data; the canvas is
  // widened (from `min_width`) so the plot area keeps `plot_px` pixels however long the
  // entries are. Returns the gnuplot lines and sets `width`.
  static std::string key_right(const std::vector<std::string>& titles, int& width, int min_width = 1000,
                               int plot_px = 720) {
    const int legend = legend_px(titles);
    width = std::max(min_width, plot_px + legend);
    const double right = static_cast<double>(width - legend) / width;
    return "set key outside right top\nset rmargin at screen " + fmt_exact(std::round(right * 1000) / 1000) + "\n";
  }

  // Twelve colours that stay apart; past them the lines are dashed as well.
  static std::string colour(std::size_t i) {
    static const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#000080"};
    return std::string("lc rgb '") + palette[i % 12] + "'";
  }
  static std::string dash(std::size_t i) { return i < 12 ? "" : " dt " + std::to_string(2 + (i / 12 - 1) % 4); }

  void render(const std::string& figure, const std::string& body, int width = 1000, int height = 600) {
    const std::string png = dir_ + "/" + figure + ".png";
    const std::string why = run_gnuplot(gnuplot_preamble(png, width, height) + body, dir_ + "/data/" + figure + ".gp", png);
    if (why.empty()) report_.figures.push_back(png);
    else report_.notes.push_back("figure " + figure + " not drawn: " + why);
  }

  Report& report() { return report_; }

 private:
  static std::string fmt_gp(double v) { return std::isfinite(v) ? fmt_exact(v) : "NaN"; }
  Report& report_;
  std::string dir_;
};

std::vector<std::string> titles_of(const std::vector<Curve>& curves, const std::string& suffix = "") {
  std::vector<std::string> out;
  for (const auto& c : curves) out.push_back(c.title + suffix);
  return out;
}

std::vector<Curve> curves_of(const Report& r, const std::string& column, bool eval_table, std::vector<std::string>& notes) {
  std::vector<Curve> out;
  for (const auto& g : r.table.rows) {
    Curve c = step_curve(g, column, eval_table, notes);
    if (!c.empty() && !c.all_nan()) out.push_back(std::move(c));
  }
  return out;
}

double median(std::vector<double> v);

// " (flowbp-lagrange)" when every row is one method (the legends then name settings only).
std::string scope(const Report& r) { return r.table.single_method.empty() ? "" : " — " + r.table.single_method; }

void reward_curves(FigureWriter& w, std::vector<std::string>& notes) {
  const auto curves = curves_of(w.report(), "reward_mean", false, notes);
  if (curves.empty()) return notes.push_back("figure reward_curves not drawn: no run has /steps/reward_mean values");
  int width = 0;
  const std::string key = FigureWriter::key_right(titles_of(curves), width);
  w.render("reward_curves",
           "set title " + gnuplot_quote("Training reward (mean ± std over seeds)" + scope(w.report())) +
               "\nset xlabel 'step'\nset ylabel 'reward_mean'\n" + key + w.band_plot("reward_curves", curves),
           width);
}

// Log scale always. A norm of 0 (the hinge loss, and its gradient, is 0 when every sample
// clears the threshold) cannot be drawn on it, and the norms of nearly cleared batches
// (1e-30 and below: a sample at the far tail of a reward bump) would stretch the axis over
// tens of decades; both count as zero-norm steps below 1e-8 × the median norm. They are
// not drawn: the title says how many, each legend entry how many of its own, and ticks
// along the bottom mark their steps.
void grad_norm(FigureWriter& w, std::vector<std::string>& notes) {
  const std::string column = "grad_norm_pre_clip";
  std::vector<double> positive;
  for (const auto& g : w.report().table.rows)
    for (const RunRecord* run : g.runs)
      if (auto it = run->steps.find(column); it != run->steps.end())
        for (double v : it->second)
          if (std::isfinite(v) && v > 0) positive.push_back(v);
  if (positive.empty()) {
    bool any = false;
    for (const auto& g : w.report().table.rows)
      for (const RunRecord* run : g.runs) any = any || run->steps.count(column);
    return notes.push_back(any ? "figure grad_norm not drawn: every " + column + " value is 0 or not finite"
                               : "figure grad_norm not drawn: no run has /steps/" + column + " values");
  }
  const double floor = 1e-8 * median(positive);
  std::vector<LogCurve> curves;
  for (const auto& g : w.report().table.rows) {
    LogCurve c = log_step_curve(g, column, floor, notes);
    if (!c.curve.empty() && (!c.curve.all_nan() || c.nonpositive)) curves.push_back(std::move(c));
  }
  std::size_t zeros = 0;
  double lowest = INFINITY;
  for (const auto& c : curves) {
    zeros += c.nonpositive;
    for (double v : c.curve.lo)
      if (std::isfinite(v)) lowest = std::min(lowest, v);
  }
  std::vector<Curve> lines;
  for (auto& c : curves) {
    if (c.nonpositive) c.curve.title += " (" + std::to_string(c.nonpositive) + " zero)";
    lines.push_back(c.curve);
  }
  std::vector<std::string> title = {"Gradient norm before clipping (geometric mean over seeds, band: min to max)" +
                                    scope(w.report())};
  std::string body = "set logscale y\nset format y '%g'\nset xlabel 'step'\nset ylabel '" + column + " (log scale)'\n";
  std::string plot = w.band_plot("grad_norm", lines);
  if (zeros) {
    title.push_back(std::to_string(zeros) + " zero-norm values not shown (0, or < 1e-8 × the median norm " +
                    fmt_num(floor * 1e8) + "); ticks at the bottom mark their steps");
    // The ticks sit below the lowest band, one row per curve in its colour.
    const double top_tick = (std::isfinite(lowest) ? lowest : floor * 1e8) / 3;
    std::vector<std::size_t> with_ticks;
    for (std::size_t i = 0; i < curves.size(); ++i)
      if (!curves[i].nonpositive_steps.empty()) with_ticks.push_back(i);
    const double bottom = top_tick / std::pow(1.6, static_cast<double>(with_ticks.size()));
    body += "set yrange [" + fmt_exact(bottom) + ":*]\n";
    plot.pop_back();
    for (std::size_t row = 0; row < with_ticks.size(); ++row) {
      const std::size_t i = with_ticks[row];
      const double tick = top_tick / std::pow(1.6, static_cast<double>(row));
      Curve ticks;
      ticks.title = curves[i].curve.title + ": steps with a zero norm";
      for (double step : curves[i].nonpositive_steps) {
        ticks.x.push_back(step);
        ticks.mean.push_back(tick);
        ticks.lo.push_back(tick);
        ticks.hi.push_back(tick);
      }
      plot += ", \\\n     " + gnuplot_quote(w.data_file("grad_norm", 100 + i, ticks)) + " u 1:2 w p pt 9 ps 0.8 " +
              FigureWriter::colour(i) + " notitle";
    }
    plot += "\n";
  }
  int width = 0;
  const std::string key = FigureWriter::key_right(titles_of(lines), width);
  w.render("grad_norm", "set title " + gnuplot_lines(title) + "\n" + key + body + plot, width);
}

// Fig. 7: the endpoint residual r_0 (top), the interior residual r_s where a method has
// one (middle; drawn only at the steps where it is defined), and the training reward
// (bottom), all on one step axis, one colour per row throughout.
void residuals(FigureWriter& w, std::vector<std::string>& notes) {
  std::vector<Curve> r0, rs, reward;
  std::vector<std::size_t> rs_colour;
  for (const auto& g : w.report().table.rows) {
    Curve c = step_curve(g, "r_0_mean", false, notes);
    if (c.empty() || c.all_nan()) continue;  // methods without an endpoint connector
    Curve s = step_curve(g, "r_s_mean", false, notes, true);
    if (!s.empty() && !s.all_nan()) {
      rs_colour.push_back(r0.size());
      rs.push_back(std::move(s));
    }
    r0.push_back(std::move(c));
    reward.push_back(step_curve(g, "reward_mean", false, notes));
  }
  if (r0.empty()) return notes.push_back("figure residual_reward not drawn: no method logs a connector residual r_0");
  const bool interior = !rs.empty();
  std::string body = "set multiplot layout " + std::string(interior ? "3" : "2") + ",1 title " +
                     gnuplot_quote("Connector residuals and reward over training (Fig. 7; mean ± std over seeds)" +
                                   scope(w.report())) + "\n";
  // Fixed margins so the panels share one step axis, pixel for pixel; legends right of them.
  std::vector<std::string> titles = titles_of(r0, ": r_0");
  for (const auto& t : titles_of(rs, ": r_s")) titles.push_back(t);
  for (const auto& t : titles_of(reward, ": reward")) titles.push_back(t);
  int width = 0;
  body += "set lmargin at screen " + fmt_exact(std::round(80000.0 / std::max(1000, 720 + FigureWriter::legend_px(titles))) / 1000) +
          "\n" + FigureWriter::key_right(titles, width) + "set xlabel 'step'\n";
  body += "set ylabel 'r_0 (endpoint residual)'\n" + w.band_plot("residual_reward", r0, 0, ": r_0");
  if (interior)
    body += "set ylabel 'r_s (interior residual)'\n" + w.band_plot("residual_reward", rs, 100, ": r_s", rs_colour);
  body += "set ylabel 'reward_mean'\n" + w.band_plot("residual_reward", reward, 200, ": reward") + "unset multiplot\n";
  w.render("residual_reward", body, width, interior ? 1200 : 900);
}

void eval_metric(FigureWriter& w, const std::string& metric, std::vector<std::string>& notes) {
  const auto curves = curves_of(w.report(), metric, true, notes);
  if (curves.empty()) return;
  const std::string name = "eval_" + safe_name(metric);
  int width = 0;
  const std::string key = FigureWriter::key_right(titles_of(curves), width);
  w.render(name,
           "set title " + gnuplot_quote("Evaluation " + metric + " over training (step 0: base model; mean ± std)" +
                                        scope(w.report())) +
               "\nset xlabel 'step'\nset ylabel " + gnuplot_quote(metric) + "\n" + key + w.band_plot(name, curves, 0, "", {}, true),
           width);
}

// How a legend names an ablation block: its method (unless every row has it) and the
// settings fixed in it that differ from the values the method's rows share, with the
// short key names of the row labels.
std::string block_title(const Report& r, const AblationTable& a) {
  std::string text = short_setting_text(r.table.distinctive(a.method, a.context), r.table.key_names);
  if (!a.backbone.empty()) text += (text.empty() ? "" : ", ") + a.backbone;
  if (!r.table.single_method.empty()) return text.empty() ? a.method : text;
  return a.method + (text.empty() ? "" : " [" + text + "]");
}

// Whether every final value of `metric` in the block's runs is >= 0 (its interval then stops at 0).
bool nonnegative_finals(const Report& r, const AblationTable& a, const std::string& metric) {
  for (std::size_t row : a.rows)
    for (const RunRecord* run : r.table.rows[row].runs) {
      auto col = run->eval.find(metric);
      if (col == run->eval.end()) continue;
      const double v = col->second[static_cast<std::size_t>(run->final_eval_row())];
      if (std::isfinite(v) && v < 0) return false;
    }
  return true;
}

// Fig. 4/6: the metric against each swept setting, mean ± 95% CI, one line per method.
void sweeps(FigureWriter& w, const std::string& metric) {
  const Report& r = w.report();
  auto m = std::find_if(r.table.metrics.begin(), r.table.metrics.end(), [&](const MetricInfo& x) { return x.name == metric; });
  if (m == r.table.metrics.end()) return;
  const std::size_t mi = static_cast<std::size_t>(m - r.table.metrics.begin());
  std::map<std::string, std::vector<const AblationTable*>> by_key;
  for (const auto& a : r.ablations) by_key[a.key].push_back(&a);
  for (const auto& [key, blocks] : by_key) {
    bool numeric = true;
    std::vector<ConfigValue> labels;  // for a setting of words: positions on the x axis
    for (const auto* a : blocks)
      for (const auto& v : a->values) {
        numeric = numeric && v.numeric();
        if (std::find(labels.begin(), labels.end(), v) == labels.end()) labels.push_back(v);
      }
    std::sort(labels.begin(), labels.end(), config_less);
    // Lines of several blocks share x values: each is shifted a little sideways so their
    // intervals do not hide each other (the data files keep the true x).
    double span = 3;  // words: positions 0, 1, ... one unit apart
    if (numeric && labels.size() > 1) span = labels.back().number() - labels.front().number();
    auto dodge = [&](std::size_t b) {
      const double shift = (static_cast<double>(b) - 0.5 * static_cast<double>(blocks.size() - 1)) * 0.012 * span;
      return blocks.size() < 2 ? std::string("1") : "($1" + std::string(shift < 0 ? "" : "+") + fmt_exact(shift) + ")";
    };
    const std::string name = "sweep_" + safe_name(key) + "_" + safe_name(metric);
    std::string plot = "plot ";
    std::vector<std::string> titles;
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      Curve c;
      c.title = block_title(r, *blocks[b]);
      titles.push_back(c.title);
      for (std::size_t v = 0; v < blocks[b]->values.size(); ++v) {
        const Summary& s = blocks[b]->cells[v][mi].value;
        const double half = s.n > 1 ? s.ci95_half : 0;
        const auto pos = std::find(labels.begin(), labels.end(), blocks[b]->values[v]) - labels.begin();
        c.x.push_back(numeric ? blocks[b]->values[v].number() : static_cast<double>(pos));
        c.mean.push_back(s.mean);
        c.lo.push_back(s.mean - half);
        c.hi.push_back(s.mean + half);
      }
      if (nonnegative_finals(r, *blocks[b], metric)) clip_at_zero(c);
      plot += (b ? ", \\\n     " : "") + gnuplot_quote(w.data_file(name, b, c)) + " u " + dodge(b) +
              ":2:3:4 w yerrorlines lw 2 pt 7 " +
              FigureWriter::colour(b) + FigureWriter::dash(b) + " title " + gnuplot_quote(c.title);
    }
    std::string axis;
    if (!numeric) {
      axis = "set xtics (";
      for (std::size_t i = 0; i < labels.size(); ++i)
        axis += (i ? ", " : "") + gnuplot_quote(labels[i].text()) + " " + std::to_string(i);
      axis += ")\nset xrange [-0.5:" + std::to_string(labels.size()) + "-0.5]\n";
    } else {
      axis = "set offsets graph 0.05, graph 0.05, 0, 0\n";
    }
    int width = 0;
    const std::string key_lines = FigureWriter::key_right(titles, width);
    w.render(name,
             "set title " + gnuplot_quote(metric + " against " + key + " (final EMA eval, mean ± 95% CI over seeds)" + scope(r)) +
                 "\nset xlabel " + gnuplot_quote(key) + "\nset ylabel " + gnuplot_quote(metric) + "\n" + key_lines + axis +
                 plot + "\n",
             width);
  }
}

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Peak autograd memory and step time against the rollout length N: the surrogate
// methods should be flat in N at fixed K, full backprop linear.
void memory_time(FigureWriter& w, std::vector<std::string>& notes) {
  const Report& r = w.report();
  std::vector<std::string> ignored;
  const auto blocks = build_ablations(r.table, std::string("sampling.steps"), std::nullopt, ignored);
  if (blocks.empty()) return;  // N was not varied: nothing to plot against
  std::vector<Curve> memory, time;
  for (const auto& a : blocks) {
    Curve mem, t;
    mem.title = t.title = block_title(r, a);
    for (std::size_t v = 0; v < a.values.size(); ++v) {
      std::vector<double> per_run_mem, per_run_time;
      for (const RunRecord* run : r.table.rows[a.rows[v]].runs) {
        auto pm = run->steps.find("peak_autograd_bytes");
        auto ts = run->steps.find("time_step");
        if (pm == run->steps.end() || ts == run->steps.end()) {
          notes.push_back(run->path + ": missing column /steps/" +
                          (pm == run->steps.end() ? "peak_autograd_bytes" : "time_step") + "; left out of memory_time_vs_N");
          continue;
        }
        per_run_mem.push_back(median(pm->second) / (1024.0 * 1024.0));
        per_run_time.push_back(median(ts->second) * 1000.0);
      }
      auto add = [&](Curve& c, const std::vector<double>& vals) {
        if (vals.empty()) return;
        const Summary s = summarize(vals);
        const double sd = s.n > 1 ? s.stddev : 0;
        c.x.push_back(a.values[v].number());
        c.mean.push_back(s.mean);
        c.lo.push_back(s.mean - sd);
        c.hi.push_back(s.mean + sd);
      };
      add(mem, per_run_mem);
      add(t, per_run_time);
    }
    clip_at_zero(mem);  // bytes and seconds
    clip_at_zero(t);
    memory.push_back(mem);
    time.push_back(t);
  }
  auto panel = [&](const std::vector<Curve>& curves, std::size_t first) {
    std::string plot = "plot ";
    for (std::size_t i = 0; i < curves.size(); ++i)
      plot += (i ? ", \\\n     " : "") + gnuplot_quote(w.data_file("memory_time_vs_N", first + i, curves[i])) +
              " u 1:2:3:4 w yerrorlines lw 2 pt 7 " + FigureWriter::colour(i) + FigureWriter::dash(i) + " title " +
              gnuplot_quote(curves[i].title);
    return plot + "\n";
  };
  // One legend for both panels (the same colours), outside right of the right one: it
  // covers no data. Two plot areas of equal width, placed in pixels.
  const int legend = FigureWriter::legend_px(titles_of(memory));
  const int width = std::max(1400, 1160 + legend);
  const int area = (width - legend - 80 - 100 - 10) / 2;
  auto at = [&](int px) { return fmt_exact(std::round(1000.0 * px / width) / 1000); };
  w.render("memory_time_vs_N",
           "set multiplot title " +
               gnuplot_quote("Per-step cost against sampling.steps N (median over steps, mean ± std over seeds)" + scope(r)) +
               "\nset xlabel 'sampling.steps N'\nset yrange [0:*]\nset offsets graph 0.03, graph 0.03, 0, 0\n"
               "set tmargin at screen 0.9\nset bmargin at screen 0.12\n"
               "set lmargin at screen " + at(80) + "\nset rmargin at screen " + at(80 + area) +
               "\nunset key\nset ylabel 'peak autograd memory (MiB)'\n" + panel(memory, 0) +
               "set lmargin at screen " + at(80 + area + 100) + "\nset rmargin at screen " + at(80 + 2 * area + 100) +
               "\nset key outside right top\nset ylabel 'time per step (ms)'\n" + panel(time, 100) + "unset multiplot\n",
           width, 600);
}

}  // namespace

// The gradient-fidelity diagnostic: each row's cosine to the exact gradient against step,
// over the runs that ran it, at the diagnostic steps only; mean ± std over seeds, the band
// clipped to [−1, 1] (a cosine's range), points on the line since the steps are sparse.
// One panel per row on a shared scale: eight overlapping bands would hide each other.
void fidelity_cos(FigureWriter& w) {
  std::vector<Curve> curves;
  std::vector<std::string> unused;  // every run here has the column
  for (const FidelityRow& f : w.report().fidelity) {
    Group g = w.report().table.rows[f.row];
    g.runs.erase(std::remove_if(g.runs.begin(), g.runs.end(), [](const RunRecord* r) { return !has_fidelity(*r); }),
                 g.runs.end());
    Curve c = step_curve(g, "fidelity_cos", false, unused, /*defined_only=*/true, /*clip_nonnegative=*/false);
    for (double& v : c.lo) v = std::max(v, -1.0);
    for (double& v : c.hi) v = std::min(v, 1.0);
    if (!c.empty() && !c.all_nan()) curves.push_back(std::move(c));
  }
  if (curves.empty()) return;
  const std::size_t columns = std::min<std::size_t>(4, curves.size());
  const std::size_t rows = (curves.size() + columns - 1) / columns;
  std::string body = "set multiplot layout " + std::to_string(rows) + "," + std::to_string(columns) + " title " +
                     gnuplot_quote("Gradient fidelity: cosine to the exact gradient (mean ± std over seeds)" +
                                   scope(w.report())) +
                     "\nset xlabel 'step'\nset ylabel 'fidelity_cos'\nset yrange [-1:1.05]\nset ytics 0.5\n"
                     "set grid ytics\nunset key\n";
  for (std::size_t i = 0; i < curves.size(); ++i)
    body += "set title " + gnuplot_quote(curves[i].title) + "\n" +
            w.band_plot("fidelity_cos", {curves[i]}, i, "", {i}, /*points=*/true);
  w.render("fidelity_cos", body + "unset multiplot\n", static_cast<int>(columns) * 320 + 40,
           static_cast<int>(rows) * 300 + 60);
}

void write_figures(Report& report, const std::string& figures_dir) {
  if (report.table.rows.empty()) return;
  FigureWriter w(report, figures_dir);
  std::vector<std::string> notes;
  reward_curves(w, notes);
  residuals(w, notes);
  grad_norm(w, notes);
  eval_metric(w, report.metric, notes);
  sweeps(w, report.metric);
  memory_time(w, notes);
  fidelity_cos(w);
  // The same missing column is met by several figures; say it once.
  std::sort(notes.begin(), notes.end());
  notes.erase(std::unique(notes.begin(), notes.end()), notes.end());
  report.notes.insert(report.notes.end(), notes.begin(), notes.end());
}

}  // namespace flowbp::analysis
