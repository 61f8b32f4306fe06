// Markdown rendering of a Report: status, Table 2, Table 4, notes, figures (last).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "report.h"
#include "text_format.h"

namespace flowbp::analysis {

namespace {

std::string escape_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const auto& c : cells) out += " " + escape_cell(c) + " |";
  return out + "\n";
}

std::string rule(std::size_t n) {
  std::string out = "|";
  for (std::size_t i = 0; i < n; ++i) out += "---|";
  return out + "\n";
}

// "0.84 ± 0.09937", "0.84 (n=1, no CI)", bold when best.
std::string value_cell(const Cell& c, std::size_t group_n) {
  if (c.value.n == 0) return "—";
  std::string s = fmt_num(c.value.mean);
  if (c.value.n >= 2) s += " ± " + fmt_num(c.value.ci95_half);
  else s += " (n=1, no CI)";
  if (c.value.n != group_n && c.value.n >= 2) s += " (n=" + std::to_string(c.value.n) + ")";
  return c.best ? "**" + s + "**" : s;
}

// "+0.04333 ± 0.05171"; the gain alone where there is no interval.
std::string gain_cell(const Cell& c) {
  std::string s = fmt_signed(c.gain);
  if (c.gain_ci.kind != Difference::Kind::None && !std::isnan(c.gain_ci.ci95_half)) s += " ± " + fmt_num(c.gain_ci.ci95_half);
  return s;
}

// Which interval a variant's Δs carry: "paired", "Welch", "none (n=1)", or both kinds when
// a metric column was missing from some runs.
std::string interval_kinds(const std::vector<Cell>& cells) {
  bool paired = false, welch = false, none = false;
  for (const auto& c : cells) {
    paired = paired || c.gain_ci.kind == Difference::Kind::Paired;
    welch = welch || c.gain_ci.kind == Difference::Kind::Welch;
    none = none || c.gain_ci.kind == Difference::Kind::None;
  }
  std::string out;
  if (paired) out = "paired";
  if (welch) out += std::string(out.empty() ? "" : "/") + "Welch";
  if (none) out += std::string(out.empty() ? "" : "/") + "none (n=1)";
  return out;
}

std::string metric_header(const MetricInfo& m) { return m.lower_is_better ? m.name + " ↓" : m.name; }

std::string status_detail(const RunRecord& r) {
  switch (r.state) {
    case RunState::Done:
      return std::to_string(r.steps_done) + "/" + std::to_string(r.steps_total) + " steps";
    case RunState::Failed:
      return "at step " + std::to_string(r.failed_step) + ": " + (r.reason.empty() ? "(no reason recorded)" : r.reason);
    case RunState::Running:
      return "in progress: " + std::to_string(r.steps_done) + "/" + std::to_string(r.steps_total) +
             " steps (or interrupted: --resume continues it); not tabulated";
    case RunState::Unreadable:
      return r.problem + "; skipped";
  }
  return "";
}

}  // namespace

std::string render_markdown(const Report& report) {
  std::ostringstream md;
  const MainTable& t = report.table;
  std::map<RunState, std::size_t> counts;
  for (const auto& r : report.runs) ++counts[r.state];

  md << "# flowbp report\n\n";
  md << report.runs.size() << " run logs: " << counts[RunState::Done] << " done, " << counts[RunState::Failed]
     << " failed, " << counts[RunState::Running] << " running, " << counts[RunState::Unreadable]
     << " unreadable. Only done runs enter the tables and figures.\n\n";

  md << "## Method × metric (Table 2)\n\n";
  if (t.rows.empty()) {
    md << "No completed runs to tabulate.\n\n";
  } else {
    md << "Final EMA evaluation; mean ± 95% confidence interval over seeds (Student t, n−1 degrees of freedom; "
          "n=1 has no interval). Δ base = gain over the base model (the is_base row of the same runs). "
          "**Bold**: best per metric; ↓: lower is better.";
    if (t.backbones.size() > 1) {
      std::string keys;
      for (const auto& kv : t.backbones.front().differing) keys += (keys.empty() ? "" : ", ") + kv.first;
      md << " The runs start from " << t.backbones.size() << " backbones (base models), which differ in " << keys
         << ": each has its own base-model row, and each row's Δ base is against the base model of its own backbone.";
    }
    if (!t.single_method.empty()) md << " Every row is " << t.single_method << ", named by the settings it changes.";
    md << "\n\n";
    std::vector<std::string> head = {t.single_method.empty() ? "method" : t.single_method, "n"};
    for (const auto& m : t.metrics) {
      head.push_back(metric_header(m));
      head.push_back("Δ base");
    }
    md << row(head) << rule(head.size());
    for (std::size_t b = 0; b < t.base_model.size(); ++b) {
      std::vector<std::string> base = {t.base_label(b), std::to_string(t.backbones[b].runs.size())};
      for (const auto& s : t.base_model[b]) {
        base.push_back(s.n ? fmt_num(s.mean) : "—");
        base.push_back("—");
      }
      md << row(base);
    }
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      std::vector<std::string> cells = {t.rows[r].label(), std::to_string(t.rows[r].runs.size())};
      for (const auto& c : t.cells[r]) {
        cells.push_back(value_cell(c, t.rows[r].runs.size()));
        cells.push_back(c.value.n && c.base.n ? fmt_signed(c.gain) : "—");
      }
      md << row(cells);
    }
    md << "\n";
  }

  for (const auto& a : report.ablations) {
    md << "## Ablation of " << a.key << " for " << a.method;
    std::string context = short_setting_text(a.context, t.key_names);
    if (!a.backbone.empty()) context += (context.empty() ? "" : ", ") + a.backbone;
    if (!context.empty()) md << " [" << context << "]";
    md << " (Table 4)\n\n";
    md << "Baseline " << a.key << "=" << a.values[a.baseline].text()
       << ". Mean ± 95% CI over seeds; Δ = gain over the baseline ± its 95% CI: paired t over the per-seed "
          "differences when the variant ran the baseline's seeds (each once, two or more), Welch t "
          "(Welch–Satterthwaite degrees of freedom) otherwise; the Δ CI column says which. "
          "**Bold**: best per metric.\n\n";
    std::vector<std::string> head = {a.key, "n", "Δ CI"};
    for (const auto& m : t.metrics) {
      head.push_back(metric_header(m));
      head.push_back("Δ");
    }
    md << row(head) << rule(head.size());
    for (std::size_t v = 0; v < a.values.size(); ++v) {
      const std::size_t n = t.rows[a.rows[v]].runs.size();
      std::vector<std::string> cells = {a.values[v].text() + (v == a.baseline ? " (baseline)" : ""), std::to_string(n),
                                        v == a.baseline ? "baseline" : interval_kinds(a.cells[v])};
      for (const auto& c : a.cells[v]) {
        cells.push_back(value_cell(c, n));
        cells.push_back(v == a.baseline ? "—" : gain_cell(c));
      }
      md << row(cells);
    }
    md << "\n";
  }

  if (!report.fidelity.empty()) {
    md << "## Gradient fidelity\n\n";
    md << "The gradient-fidelity diagnostic (docs/METHODS.md §8): on a sub-batch of each diagnostic step, the cosine "
          "of the method's gradient to the exact full-backprop gradient and their norm ratio; with plan draws, the "
          "cosine of the draws' mean gradient to the exact one (bias) and the draws' mean pairwise cosine (spread). "
          "Per run the mean over its diagnostic steps (of the norm ratio the median: a near-zero exact gradient makes "
          "a single step's ratio huge), then mean ± 95% CI over seeds (Student t; n=1 has no "
          "interval). Steps: diagnostic steps with a finite cosine (NaN: a zero gradient, every sample of the "
          "sub-batch past the hinge, left out).\n\n";
    const auto cell = [](const Summary& s) {
      if (s.n == 0 || std::isnan(s.mean)) return std::string("—");
      return fmt_num(s.mean) + (s.n >= 2 ? " ± " + fmt_num(s.ci95_half) : " (n=1, no CI)");
    };
    md << row({t.single_method.empty() ? "method" : t.single_method, "n", "cos to exact", "norm ratio", "bias cos",
               "spread cos", "steps"})
       << rule(7);
    for (const FidelityRow& f : report.fidelity)
      md << row({t.rows[f.row].label(), std::to_string(f.runs), cell(f.cos), cell(f.norm_ratio), cell(f.bias_cos),
                 cell(f.spread_cos),
                 std::to_string(f.steps) + (f.nan_steps ? " (+" + std::to_string(f.nan_steps) + " NaN)" : "")});
    md << "\n";
  }

  md << "## Run status\n\n";
  md << row({"file", "method", "seed", "state", "detail"}) << rule(5);
  for (const auto& r : report.runs)
    md << row({r.path, r.method.empty() ? "—" : r.method, r.seed >= 0 ? std::to_string(r.seed) : "—", to_string(r.state),
               status_detail(r)});
  md << "\n";

  if (!report.notes.empty()) {
    md << "## Notes\n\n";
    for (const auto& n : report.notes) md << "- " << n << "\n";
    md << "\n";
  }

  if (!report.sample_grids.empty()) {
    md << "## Sample grids\n\n";
    for (const auto& fig : report.sample_grids) {
      const std::string rel = std::filesystem::path(fig.path).lexically_relative(report.out_dir).string();
      md << "`" << rel << "`: each panel shows " << fig.rows << " conditions (rows) x " << fig.columns
         << " samples, the same evaluation noise in every panel. Panels, left to right and top to bottom:\n\n";
      md << row({"panel", "model", "step", "seed", "log"}) << rule(5);
      for (std::size_t i = 0; i < fig.panels.size(); ++i) {
        const auto& p = fig.panels[i];
        md << row({std::to_string(i + 1), p.label, std::to_string(p.step), p.seed >= 0 ? std::to_string(p.seed) : "—",
                   p.source});
      }
      md << "\n";
    }
  }

  md << "## Figures\n\n";
  if (report.figures.empty()) md << "None written.\n";
  for (const auto& f : report.figures) {
    const std::string rel = std::filesystem::path(f).lexically_relative(report.out_dir).string();
    md << "![" << std::filesystem::path(f).stem().string() << "](" << rel << ")\n";
  }
  return md.str();
}

}  // namespace flowbp::analysis
