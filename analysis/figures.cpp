#include "figures.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "gnuplot.h"
#include "text_format.h"

namespace flowbp::analysis {

namespace {

// One line of a figure: x, mean over seeds, and the band [lo, hi] (mean ± std, or ± 95% CI).
struct Curve {
  std::string title;
  std::vector<double> x, mean, lo, hi;
  bool empty() const { return x.empty(); }
  bool all_nan() const {
    return std::all_of(mean.begin(), mean.end(), [](double v) { return std::isnan(v); });
  }
};

// A column over training for one group: at each step value, the mean ± std of the
// finite values across seeds (a seed that diverged leaves a gap, not a spike to inf).
Curve step_curve(const Group& g, const std::string& column, bool eval_table, std::vector<std::string>& notes) {
  std::map<double, std::vector<double>> at_step;
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
      if (std::isfinite(values->second[i])) bucket.push_back(values->second[i]);
    }
  }
  Curve c;
  c.title = g.label();
  for (const auto& [step, values] : at_step) {
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
  return c;
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

  // Lines with a translucent band, one colour per curve.
  std::string band_plot(const std::string& figure, const std::vector<Curve>& curves, std::size_t first_index = 0) {
    std::string plot = "plot ";
    for (std::size_t i = 0; i < curves.size(); ++i) {
      const std::string f = gnuplot_quote(data_file(figure, first_index + i, curves[i]));
      const std::string lc = " lc " + std::to_string(i + 1);
      plot += (i ? ", \\\n     " : "") + f + " u 1:3:4 w filledcurves fs transparent solid 0.2 noborder" + lc +
              " notitle, \\\n     " + f + " u 1:2 w l lw 2" + lc + " title " + gnuplot_quote(curves[i].title);
    }
    return plot + "\n";
  }

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

std::vector<Curve> curves_of(const Report& r, const std::string& column, bool eval_table, std::vector<std::string>& notes) {
  std::vector<Curve> out;
  for (const auto& g : r.table.rows) {
    Curve c = step_curve(g, column, eval_table, notes);
    if (!c.empty() && !c.all_nan()) out.push_back(std::move(c));
  }
  return out;
}

bool all_positive(const std::vector<Curve>& curves) {
  for (const auto& c : curves)
    for (double v : c.lo)
      if (std::isfinite(v) && v <= 0) return false;
  return true;
}

void reward_curves(FigureWriter& w, std::vector<std::string>& notes) {
  const auto curves = curves_of(w.report(), "reward_mean", false, notes);
  if (curves.empty()) return notes.push_back("figure reward_curves not drawn: no run has /steps/reward_mean values");
  w.render("reward_curves", "set title 'Training reward (mean ± std over seeds)'\nset xlabel 'step'\n"
                            "set ylabel 'reward_mean'\n" + w.band_plot("reward_curves", curves));
}

void grad_norm(FigureWriter& w, std::vector<std::string>& notes) {
  const auto curves = curves_of(w.report(), "grad_norm_pre_clip", false, notes);
  if (curves.empty()) return notes.push_back("figure grad_norm not drawn: no run has /steps/grad_norm_pre_clip values");
  const std::string log_y = all_positive(curves) ? "set logscale y\n" : "";
  w.render("grad_norm", "set title 'Gradient norm before clipping (mean ± std over seeds)'\nset xlabel 'step'\n"
                        "set ylabel 'grad_norm_pre_clip'\n" + log_y + w.band_plot("grad_norm", curves));
}

// Fig. 7: the endpoint residual r_0 (solid, with band) and interior r_s (dashed)
// above, the training reward on the same step axis below.
void residuals(FigureWriter& w, std::vector<std::string>& notes) {
  std::vector<Curve> r0, rs, reward;
  for (const auto& g : w.report().table.rows) {
    Curve c = step_curve(g, "r_0_mean", false, notes);
    if (c.empty() || c.all_nan()) continue;  // methods without an endpoint connector
    r0.push_back(std::move(c));
    Curve s = step_curve(g, "r_s_mean", false, notes);
    rs.push_back(std::move(s));
    reward.push_back(step_curve(g, "reward_mean", false, notes));
  }
  if (r0.empty()) return notes.push_back("figure residual_reward not drawn: no method logs a connector residual r_0");
  std::string body = "set multiplot layout 2,1 title 'Connector residuals and reward over training (Fig. 7)'\n";
  // Fixed margins so both panels share one step axis, pixel for pixel.
  body += "set lmargin at screen 0.08\nset rmargin at screen 0.74\n";
  body += "set xlabel 'step'\nset ylabel 'residual (mean over batch)'\n";
  std::string plot = w.band_plot("residual_reward", r0);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    if (rs[i].empty() || rs[i].all_nan()) continue;
    Curve c = rs[i];
    c.title = rs[i].title + " r_s";
    plot.pop_back();
    plot += ", \\\n     " + gnuplot_quote(w.data_file("residual_reward", 100 + i, c)) + " u 1:2 w l dt 2 lw 2 lc " +
            std::to_string(i + 1) + " title " + gnuplot_quote(c.title) + "\n";
  }
  body += plot + "set ylabel 'reward_mean'\n" + w.band_plot("residual_reward", reward, 200) + "unset multiplot\n";
  w.render("residual_reward", body, 1000, 900);
}

void eval_metric(FigureWriter& w, const std::string& metric, std::vector<std::string>& notes) {
  const auto curves = curves_of(w.report(), metric, true, notes);
  if (curves.empty()) return;
  const std::string name = "eval_" + safe_name(metric);
  w.render(name, "set title " + gnuplot_quote("Evaluation " + metric + " over training (step 0: base model; mean ± std)") +
                     "\nset xlabel 'step'\nset ylabel " + gnuplot_quote(metric) + "\n" + w.band_plot(name, curves));
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
    const std::string name = "sweep_" + safe_name(key) + "_" + safe_name(metric);
    std::string plot = "plot ";
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      Curve c;
      c.title = blocks[b]->method + (blocks[b]->context.empty() ? "" : " [" + setting_text(blocks[b]->context) + "]");
      for (std::size_t v = 0; v < blocks[b]->values.size(); ++v) {
        const Summary& s = blocks[b]->cells[v][mi].value;
        const double half = s.n > 1 ? s.ci95_half : 0;
        const auto pos = std::find(labels.begin(), labels.end(), blocks[b]->values[v]) - labels.begin();
        c.x.push_back(numeric ? blocks[b]->values[v].number() : static_cast<double>(pos));
        c.mean.push_back(s.mean);
        c.lo.push_back(s.mean - half);
        c.hi.push_back(s.mean + half);
      }
      plot += (b ? ", \\\n     " : "") + gnuplot_quote(w.data_file(name, b, c)) + " u 1:2:3:4 w yerrorlines lw 2 pt 7 lc " +
              std::to_string(b + 1) + " title " + gnuplot_quote(c.title);
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
    w.render(name, "set title " + gnuplot_quote(metric + " against " + key + " (final EMA eval, mean ± 95% CI over seeds)") +
                       "\nset xlabel " + gnuplot_quote(key) + "\nset ylabel " + gnuplot_quote(metric) + "\n" + axis +
                       plot + "\n");
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
    mem.title = t.title = a.method + (a.context.empty() ? "" : " [" + setting_text(a.context) + "]");
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
    memory.push_back(mem);
    time.push_back(t);
  }
  auto panel = [&](const std::vector<Curve>& curves, std::size_t first) {
    std::string plot = "plot ";
    for (std::size_t i = 0; i < curves.size(); ++i)
      plot += (i ? ", \\\n     " : "") + gnuplot_quote(w.data_file("memory_time_vs_N", first + i, curves[i])) +
              " u 1:2:3:4 w yerrorlines lw 2 pt 7 lc " + std::to_string(i + 1) + " title " + gnuplot_quote(curves[i].title);
    return plot + "\n";
  };
  w.render("memory_time_vs_N",
           "set multiplot layout 1,2 title 'Per-step cost against sampling.steps N (median over steps, mean ± std over seeds)'\n"
           "set xlabel 'sampling.steps N'\nset ylabel 'peak autograd memory (MiB)'\nset key top left inside\nset yrange [0:*]\n" +
               panel(memory, 0) + "set ylabel 'time per step (ms)'\n" + panel(time, 100) + "unset multiplot\n",
           1400, 600);
}

}  // namespace

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
  // The same missing column is met by several figures; say it once.
  std::sort(notes.begin(), notes.end());
  notes.erase(std::unique(notes.begin(), notes.end()), notes.end());
  report.notes.insert(report.notes.end(), notes.begin(), notes.end());
}

}  // namespace flowbp::analysis
