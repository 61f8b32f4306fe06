#include "csv_writer.h"

#include <fstream>
#include <stdexcept>

#include "text_format.h"

namespace flowbp::analysis {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

class CsvFile {
 public:
  explicit CsvFile(const std::string& path) : path_(path), out_(path) {
    if (!out_) throw std::runtime_error(path + ": cannot write");
  }
  void row(const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) out_ << (i ? "," : "") << csv_field(fields[i]);
    out_ << "\n";
  }
  void close() {
    out_.close();
    if (!out_) throw std::runtime_error(path_ + ": write failed (disk full?)");
  }

 private:
  std::string path_;
  std::ofstream out_;
};

std::string count(std::size_t n) { return std::to_string(n); }

}  // namespace

std::vector<std::string> write_csv_tables(const Report& report, const std::string& dir) {
  std::vector<std::string> written;
  const MainTable& t = report.table;
  {
    CsvFile csv(dir + "/main.csv");
    csv.row({"label", "method", "setting", "metric", "lower_is_better", "n", "mean", "std", "ci95_half", "base_n",
             "base_mean", "gain_over_base", "best", "backbone"});
    const auto backbone = [&](std::size_t b) { return t.backbones.size() > 1 ? t.backbones[b].label() : std::string(); };
    for (std::size_t b = 0; b < t.base_model.size(); ++b)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) {
        const Summary& s = t.base_model[b][m];
        csv.row({t.base_label(b), "", "", t.metrics[m].name, t.metrics[m].lower_is_better ? "1" : "0", count(s.n),
                 fmt_exact(s.mean), fmt_exact(s.stddev), fmt_exact(s.ci95_half), count(s.n), fmt_exact(s.mean), "nan",
                 "0", backbone(b)});
      }
    for (std::size_t r = 0; r < t.rows.size(); ++r)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) {
        const Cell& c = t.cells[r][m];
        csv.row({t.rows[r].label(), t.rows[r].method, setting_text(t.rows[r].setting), t.metrics[m].name,
                 t.metrics[m].lower_is_better ? "1" : "0", count(c.value.n), fmt_exact(c.value.mean),
                 fmt_exact(c.value.stddev), fmt_exact(c.value.ci95_half), count(c.base.n), fmt_exact(c.base.mean),
                 fmt_exact(c.gain), c.best ? "1" : "0", backbone(t.rows[r].backbone)});
      }
    csv.close();
    written.push_back(dir + "/main.csv");
  }
  if (!report.ablations.empty()) {
    CsvFile csv(dir + "/ablation.csv");
    csv.row({"method", "context", "key", "value", "is_baseline", "metric", "lower_is_better", "n", "mean", "std",
             "ci95_half", "gain_over_baseline", "best", "gain_ci", "gain_ci95_half", "gain_dof", "backbone"});
    for (const auto& a : report.ablations)
      for (std::size_t v = 0; v < a.values.size(); ++v)
        for (std::size_t m = 0; m < t.metrics.size(); ++m) {
          const Cell& c = a.cells[v][m];
          csv.row({a.method, setting_text(a.context), a.key, a.values[v].text(), v == a.baseline ? "1" : "0",
                   t.metrics[m].name, t.metrics[m].lower_is_better ? "1" : "0", count(c.value.n),
                   fmt_exact(c.value.mean), fmt_exact(c.value.stddev), fmt_exact(c.value.ci95_half),
                   fmt_exact(c.gain), c.best ? "1" : "0", v == a.baseline ? "baseline" : to_string(c.gain_ci.kind),
                   fmt_exact(c.gain_ci.ci95_half), fmt_exact(c.gain_ci.dof), a.backbone});
        }
    csv.close();
    written.push_back(dir + "/ablation.csv");
  }
  if (!report.fidelity.empty()) {
    CsvFile csv(dir + "/fidelity.csv");
    csv.row({"label", "method", "setting", "n", "cos_mean", "cos_std", "cos_ci95_half", "norm_ratio_mean",
             "norm_ratio_std", "norm_ratio_ci95_half", "bias_cos_mean", "bias_cos_ci95_half", "spread_cos_mean",
             "spread_cos_ci95_half", "diagnostic_steps", "nan_steps", "backbone"});
    for (const FidelityRow& f : report.fidelity) {
      const Group& g = t.rows[f.row];
      csv.row({g.label(), g.method, setting_text(g.setting), count(f.runs), fmt_exact(f.cos.mean),
               fmt_exact(f.cos.stddev), fmt_exact(f.cos.ci95_half), fmt_exact(f.norm_ratio.mean),
               fmt_exact(f.norm_ratio.stddev), fmt_exact(f.norm_ratio.ci95_half), fmt_exact(f.bias_cos.mean),
               fmt_exact(f.bias_cos.ci95_half), fmt_exact(f.spread_cos.mean), fmt_exact(f.spread_cos.ci95_half),
               count(f.steps), count(f.nan_steps), t.backbones.size() > 1 ? t.backbones[g.backbone].label() : ""});
    }
    csv.close();
    written.push_back(dir + "/fidelity.csv");
  }
  {
    CsvFile csv(dir + "/status.csv");
    csv.row({"path", "method", "seed", "state", "steps_done", "steps_total", "failed_step", "reason", "problem"});
    for (const auto& r : report.runs)
      csv.row({r.path, r.method, std::to_string(r.seed), to_string(r.state), std::to_string(r.steps_done),
               std::to_string(r.steps_total), std::to_string(r.failed_step), r.reason, r.problem});
    csv.close();
    written.push_back(dir + "/status.csv");
  }
  return written;
}

}  // namespace flowbp::analysis
