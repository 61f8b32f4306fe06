// `flowbp report` end to end on real logs: the numbers of Table 2 and Table 4
// against values worked out by hand from make_logs.py, the status of every bad
// file, the CSV, the PNGs, and the errors for bad options.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "commands.h"
#include "fixture_logs.h"
#include <doctest.h>

namespace fs = std::filesystem;
using namespace flowbp::analysis::test;

namespace {

struct Run {
  int rc;
  std::string out, err;
};

// The command as `flowbp report ARGS...` runs it, with its terminal output captured.
Run report(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  int rc = -1;
  try {
    rc = flowbp::cli::report(args);
  } catch (...) {
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    throw;
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {rc, out.str(), err.str()};
}

using CsvRow = std::map<std::string, std::string>;

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
    else if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) fields.emplace_back();
    else fields.back() += c;
  }
  return fields;
}

std::vector<CsvRow> read_csv(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot open " << path);
  std::string line;
  std::getline(in, line);
  const auto head = split_csv_line(line);
  std::vector<CsvRow> rows;
  while (std::getline(in, line)) {
    const auto fields = split_csv_line(line);
    REQUIRE_MESSAGE(fields.size() == head.size(), path << ": ragged row: " << line);
    CsvRow row;
    for (std::size_t i = 0; i < head.size(); ++i) row[head[i]] = fields[i];
    rows.push_back(row);
  }
  return rows;
}

const CsvRow& find_row(const std::vector<CsvRow>& rows, const std::map<std::string, std::string>& match) {
  for (const auto& r : rows) {
    bool ok = true;
    for (const auto& [k, v] : match) ok = ok && r.count(k) && r.at(k) == v;
    if (ok) return r;
  }
  FAIL("no CSV row matches");
  static CsvRow none;
  return none;
}

double num(const CsvRow& r, const std::string& key) { return std::strtod(r.at(key).c_str(), nullptr); }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// PNG signature, an IHDR chunk first, and its width (at least `width` when the canvas
// grows with its legend) and height.
void check_png(const std::string& path, std::uint32_t width, std::uint32_t height, bool wider_ok = false) {
  CAPTURE(path);
  REQUIRE(fs::exists(path));
  const std::string png = slurp(path);
  const auto size = png.size();
  CHECK(size > 5000);     // a real plot with text and lines, not an empty canvas
  CHECK(size < 3000000);
  REQUIRE(png.size() > 24);
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  CHECK(png.compare(12, 4, "IHDR") == 0);
  auto be32 = [&](std::size_t at) {
    return (std::uint32_t(std::uint8_t(png[at])) << 24) | (std::uint32_t(std::uint8_t(png[at + 1])) << 16) |
           (std::uint32_t(std::uint8_t(png[at + 2])) << 8) | std::uint32_t(std::uint8_t(png[at + 3]));
  };
  if (wider_ok) CHECK(be32(16) >= width);
  else CHECK(be32(16) == width);
  CHECK(be32(20) == height);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const double t2 = 4.302652729911275;  // t_{0.975, 2}
const double t1 = 12.706204736432095; // t_{0.975, 1}

}  // namespace

TEST_CASE("Table 2 from 2 methods x 3 seeds, with every bad file reported and skipped") {
  const std::string out = fresh_dir("report-main");
  const Run r = report({fixture_logs() + "/main", "--out", out});
  REQUIRE_MESSAGE(r.rc == 0, r.err);

  const auto main = read_csv(out + "/tables/main.csv");
  // flowbp-lagrange reward: 0.80, 0.84, 0.88 (base 0.5): mean 0.84, sd 0.04.
  const auto& lag = find_row(main, {{"label", "flowbp-lagrange"}, {"metric", "reward"}});
  CHECK(num(lag, "n") == 3);
  CHECK(num(lag, "mean") == doctest::Approx(0.84));
  CHECK(num(lag, "std") == doctest::Approx(0.04));
  CHECK(num(lag, "ci95_half") == doctest::Approx(t2 * 0.04 / std::sqrt(3.0)));
  CHECK(num(lag, "base_mean") == doctest::Approx(0.5));
  CHECK(num(lag, "gain_over_base") == doctest::Approx(0.34));
  CHECK(lag.at("best") == "0");
  // draft-lv reward: 0.7, 0.8, 1.1: mean 13/15, sd sqrt(0.13/3); best of the two.
  const auto& dlv = find_row(main, {{"label", "draft-lv"}, {"metric", "reward"}});
  CHECK(num(dlv, "mean") == doctest::Approx(13.0 / 15.0));
  CHECK(num(dlv, "ci95_half") == doctest::Approx(t2 * std::sqrt(0.13 / 3.0) / std::sqrt(3.0)));
  CHECK(dlv.at("best") == "1");
  // fid_toy is lower-is-better: draft-lv 7.25 beats flowbp-lagrange 8.5.
  const auto& fid_d = find_row(main, {{"label", "draft-lv"}, {"metric", "fid_toy"}});
  const auto& fid_l = find_row(main, {{"label", "flowbp-lagrange"}, {"metric", "fid_toy"}});
  CHECK(fid_d.at("lower_is_better") == "1");
  CHECK(num(fid_d, "mean") == doctest::Approx(7.25));
  CHECK(num(fid_d, "gain_over_base") == doctest::Approx(-2.75));
  CHECK(fid_d.at("best") == "1");
  CHECK(fid_l.at("best") == "0");
  // mode_coverage: lagrange 0.9 constant beats draft-lv 0.8; a zero-width interval is still an interval.
  const auto& mc = find_row(main, {{"label", "flowbp-lagrange"}, {"metric", "mode_coverage"}});
  CHECK(mc.at("best") == "1");
  CHECK(num(mc, "ci95_half") == 0.0);
  // reward_std is a spread, not a score: never marked, though the two methods differ.
  CHECK(find_row(main, {{"label", "draft-lv"}, {"metric", "reward_std"}}).at("best") == "0");
  CHECK(find_row(main, {{"label", "flowbp-lagrange"}, {"metric", "reward_std"}}).at("best") == "0");
  const auto& base = find_row(main, {{"label", "base model"}, {"metric", "reward"}});
  CHECK(num(base, "n") == 6);
  CHECK(num(base, "mean") == doctest::Approx(0.5));
  // Only the two methods and the base model: no row from the running, failed or bad files.
  CHECK(main.size() == 3 * 7);

  // Markdown: the same numbers, best in bold, the interval and the gain.
  CHECK(contains(r.out, "| draft-lv | 3 | **0.8667 ± 0.5171** | +0.3667 |"));
  CHECK(contains(r.out, "| flowbp-lagrange | 3 | 0.84 ± 0.09937 | +0.34 |"));
  CHECK(contains(r.out, "fid_toy ↓"));
  CHECK(slurp(out + "/report.md") == r.out.substr(0, slurp(out + "/report.md").size()));

  // Every file in the status table, the bad ones with why.
  const auto status = read_csv(out + "/tables/status.csv");
  CHECK(status.size() == 12);
  std::map<std::string, CsvRow> by_dir;
  for (const auto& row : status) by_dir[fs::path(row.at("path")).parent_path().filename().string()] = row;
  CHECK(by_dir.at("running").at("state") == "running");
  CHECK(by_dir.at("failed").at("state") == "failed");
  CHECK(by_dir.at("failed").at("failed_step") == "17");
  CHECK(contains(by_dir.at("failed").at("reason"), "non-finite loss"));
  CHECK(by_dir.at("corrupt").at("state") == "unreadable");
  CHECK(by_dir.at("truncated").at("state") == "unreadable");
  CHECK(contains(by_dir.at("truncated").at("problem"), "truncated"));
  CHECK(by_dir.at("schema99").at("state") == "unreadable");
  CHECK(contains(by_dir.at("schema99").at("problem"), "schema_version 99"));
  CHECK(contains(by_dir.at("missing_column").at("problem"), "/eval/is_base"));
  CHECK(contains(r.out, "| running | in progress: 40/100 steps (or interrupted: --resume continues it); not tabulated |"));
  CHECK(contains(r.out, "| failed | at step 17: non-finite loss (nan) at step 17 |"));
  CHECK(contains(r.out, "6 done, 1 failed, 1 running, 4 unreadable"));

  // Figures: valid PNGs of the sizes asked for; Fig. 7 leaves out draft-lv (r_0 all NaN).
  check_png(out + "/figures/reward_curves.png", 1000, 600);
  check_png(out + "/figures/residual_reward.png", 1000, 1200);  // r_0, r_s and reward panels
  check_png(out + "/figures/grad_norm.png", 1000, 600);
  check_png(out + "/figures/eval_reward.png", 1000, 600);
  CHECK(contains(slurp(out + "/figures/data/residual_reward_0.dat"), "# flowbp-lagrange"));
  CHECK_FALSE(fs::exists(out + "/figures/data/residual_reward_1.dat"));
  // The terminal output ends with the figure paths.
  const std::string tail = r.out.substr(r.out.rfind("figures:\n"));
  CHECK(tail == "figures:\n  " + out + "/figures/reward_curves.png\n  " + out + "/figures/residual_reward.png\n  " + out +
                    "/figures/grad_norm.png\n  " + out + "/figures/eval_reward.png\n");
}

TEST_CASE("the tables agree with an independent recomputation in Python (scipy t quantiles)") {
  const std::string out = fresh_dir("report-check");
  REQUIRE(report({fixture_logs() + "/main", "--out", out + "/main", "--no-figures"}).rc == 0);
  REQUIRE(report({fixture_logs() + "/ablation", "--out", out + "/ablation", "--no-figures"}).rc == 0);
  CHECK(run_shell(python() + " " + tests_source_dir() + "/check_report.py " + out) == 0);
}

TEST_CASE("Table 4: the automatic ablation over the one key a method varies") {
  const std::string out = fresh_dir("report-ablation");
  const Run r = report({fixture_logs() + "/ablation", "--out", out});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const auto abl = read_csv(out + "/tables/ablation.csv");
  // reward = 0.60 + 0.05 log2 K + 0.01 seed; seeds {0, 1} except K=16 (seed 0 only).
  const auto& k2 = find_row(abl, {{"value", "2"}, {"metric", "reward"}});
  CHECK(k2.at("key") == "method.K");
  CHECK(k2.at("is_baseline") == "1");
  CHECK(num(k2, "mean") == doctest::Approx(0.655));
  CHECK(num(k2, "ci95_half") == doctest::Approx(t1 * std::sqrt(0.00005) / std::sqrt(2.0)));
  CHECK(num(k2, "gain_over_baseline") == doctest::Approx(0.0));
  const auto& k8 = find_row(abl, {{"value", "8"}, {"metric", "reward"}});
  CHECK(num(k8, "gain_over_baseline") == doctest::Approx(0.10));
  const auto& k16 = find_row(abl, {{"value", "16"}, {"metric", "reward"}});
  CHECK(num(k16, "n") == 1);
  CHECK(k16.at("ci95_half") == "nan");
  CHECK(num(k16, "gain_over_baseline") == doctest::Approx(0.145));
  CHECK(k16.at("best") == "1");
  // fid_toy = 9 + 0.1 K - 0.2 seed, lower is better: K=2 is best.
  CHECK(find_row(abl, {{"value", "2"}, {"metric", "fid_toy"}}).at("best") == "1");
  // A column where every variant is equal marks nothing.
  CHECK(find_row(abl, {{"value", "2"}, {"metric", "quality_logp"}}).at("best") == "0");
  CHECK(contains(r.out, "## Ablation of method.K for flowbp-sparse (Table 4)"));
  CHECK(contains(r.out, "| 16 | 1 | none (n=1) | **0.8 (n=1, no CI)** | +0.145 |"));
  CHECK(contains(r.out, "| 2 (baseline) | 2 |"));
  check_png(out + "/figures/sweep_method_K_reward.png", 1000, 600);

  // --baseline moves the reference.
  const std::string out4 = fresh_dir("report-ablation-b4");
  REQUIRE(report({fixture_logs() + "/ablation", "--out", out4, "--baseline", "4", "--no-figures"}).rc == 0);
  const auto abl4 = read_csv(out4 + "/tables/ablation.csv");
  CHECK(num(find_row(abl4, {{"value", "2"}, {"metric", "reward"}}), "gain_over_baseline") == doctest::Approx(-0.05));
  CHECK(find_row(abl4, {{"value", "4"}, {"metric", "reward"}}).at("is_baseline") == "1");
}

TEST_CASE("--by picks the key when a method varies several; the others become the block's context") {
  const std::string out = fresh_dir("report-by");
  const Run r = report({fixture_logs() + "/ablation", fixture_logs() + "/memory", "--out", out, "--by", "method.K",
                        "--no-figures"});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const auto abl = read_csv(out + "/tables/ablation.csv");
  // flowbp-sparse runs at N=20 have K in {2,4,8,16}; at N=10 and N=40 only K=4: no block there.
  std::set<std::string> contexts;
  for (const auto& row : abl) contexts.insert(row.at("method") + " | " + row.at("context"));
  CHECK(contexts == std::set<std::string>{"flowbp-sparse | sampling.steps=20"});
  // K=4 at N=20 pools the two ablation seeds and the two memory seeds (same config but the output dir).
  const auto& k4 = find_row(abl, {{"value", "4"}, {"metric", "reward"}});
  CHECK(num(k4, "n") == 4);
  CHECK(num(k4, "mean") == doctest::Approx(0.705));
}

TEST_CASE("peak memory and step time against sampling.steps when N varies") {
  const std::string out = fresh_dir("report-memory");
  const Run r = report({fixture_logs() + "/memory", "--out", out});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  check_png(out + "/figures/memory_time_vs_N.png", 1400, 600);
  // full-bp logs N MiB at N steps, flowbp-sparse a flat 4 MiB.
  std::string full_bp, sparse;
  for (int i = 0; i < 2; ++i) {
    const std::string d = slurp(out + "/figures/data/memory_time_vs_N_" + std::to_string(i) + ".dat");
    (contains(d, "# full-bp") ? full_bp : sparse) = d;
  }
  CHECK(contains(full_bp, "\n10 10 10 10\n20 20 20 20\n40 40 40 40\n"));
  CHECK(contains(sparse, "\n10 4 4 4\n20 4 4 4\n40 4 4 4\n"));
}

TEST_CASE("bad options and inputs: clear errors with a did-you-mean") {
  const std::string out = fresh_dir("report-errors");
  Run r = report({fixture_logs() + "/main", "--out", out, "--metric", "rewrd"});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "--metric rewrd"));
  CHECK(contains(r.err, "did you mean 'reward'"));

  r = report({fixture_logs() + "/ablation", "--out", out, "--by", "method.k"});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "did you mean 'method.K'"));

  r = report({fixture_logs() + "/main", "--metirc", "reward"});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "did you mean '--metric'"));

  r = report({out + "/does-not-exist"});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "does-not-exist: no such file or directory"));

  r = report({});
  CHECK(r.rc == 2);

  r = report({"--help"});
  CHECK(r.rc == 0);
  CHECK(contains(r.out, "--by"));
}

TEST_CASE("only bad files: the status is still reported, and the exit code says nothing was tabulated") {
  const std::string out = fresh_dir("report-nothing");
  const Run r = report({fixture_logs() + "/main/corrupt/log.h5", fixture_logs() + "/main/schema99/log.h5",
                        fixture_logs() + "/main/running", "--out", out});
  CHECK(r.rc == 1);
  CHECK(contains(r.out, "No completed runs to tabulate."));
  CHECK(read_csv(out + "/tables/status.csv").size() == 3);
  CHECK(contains(r.out, "figures: none written"));
}

TEST_CASE("without gnuplot the tables are still written and the report says why figures are missing") {
  const std::string out = fresh_dir("report-no-gnuplot");
  setenv("FLOWBP_GNUPLOT", "/nonexistent/gnuplot", 1);
  const Run r = report({fixture_logs() + "/main", "--out", out});
  unsetenv("FLOWBP_GNUPLOT");
  CHECK(r.rc == 0);
  CHECK(contains(r.out, "cannot run '/nonexistent/gnuplot'"));
  CHECK(fs::exists(out + "/tables/main.csv"));
  CHECK_FALSE(fs::exists(out + "/figures/reward_curves.png"));
}

TEST_CASE("--ignore merges the runs a key would split; --by a key that does not vary says so") {
  const std::string out = fresh_dir("report-ignore");
  Run r = report({fixture_logs() + "/ablation", "--out", out, "--ignore", "method.K", "--no-figures"});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const auto main = read_csv(out + "/tables/main.csv");
  const auto& all = find_row(main, {{"label", "flowbp-sparse"}, {"metric", "reward"}});
  CHECK(num(all, "n") == 7);
  CHECK_FALSE(fs::exists(out + "/tables/ablation.csv"));

  r = report({fixture_logs() + "/main", "--out", out, "--by", "train.lr", "--no-figures"});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  CHECK(contains(r.out, "--by train.lr: the key does not vary within any method; no ablation table"));
}

TEST_CASE("a report into an earlier report's --out leaves none of the earlier tables or figures behind") {
  const std::string out = fresh_dir("report-rerun");
  REQUIRE(report({fixture_logs() + "/ablation", "--out", out}).rc == 0);
  REQUIRE(fs::exists(out + "/tables/ablation.csv"));
  REQUIRE(fs::exists(out + "/figures/sweep_method_K_reward.png"));
  REQUIRE(report({fixture_logs() + "/main", "--out", out, "--no-figures"}).rc == 0);
  CHECK_FALSE(fs::exists(out + "/tables/ablation.csv"));
  CHECK_FALSE(fs::exists(out + "/figures/sweep_method_K_reward.png"));
  CHECK_FALSE(fs::exists(out + "/figures/reward_curves.png"));
  CHECK(fs::exists(out + "/tables/main.csv"));
}

// ---------------------------------------------------------------------------------------------
// Options are checked before anything is written.

TEST_CASE("--baseline a value no run has: an error listing the values that exist, nothing written") {
  const std::string out = fresh_dir("report-baseline");
  Run r = report({fixture_logs() + "/ablation", "--out", out + "/a", "--baseline", "17"});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "--baseline 17"));
  CHECK(contains(r.err, "method.K"));
  CHECK(contains(r.err, "flowbp-sparse"));
  CHECK(contains(r.err, "2, 4, 8, 16"));
  CHECK(contains(r.err, "did you mean '16'"));
  CHECK_FALSE(fs::exists(out + "/a"));

  // A word that is no value: the values are listed, a near miss suggested.
  r = report({fixture_logs() + "/lagrange", "--out", out + "/b", "--by", "method.weights", "--baseline", "lagrang"});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "did you mean 'lagrange'"));
  CHECK(contains(r.err, "lagrange, uniform"));

  // Numbers are matched by value: 4.0 is K=4.
  r = report({fixture_logs() + "/ablation", "--out", out + "/c", "--baseline", "4.0", "--no-figures"});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  CHECK(find_row(read_csv(out + "/c/tables/ablation.csv"), {{"value", "4"}, {"metric", "reward"}}).at("is_baseline") == "1");

  // A baseline with no ablation table to apply to.
  r = report({fixture_logs() + "/main", "--out", out + "/d", "--baseline", "4"});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "--baseline 4: no ablation table"));
  CHECK_FALSE(fs::exists(out + "/d"));
}

TEST_CASE("--out naming a file, or a place that cannot be created: a clear error before any work") {
  const std::string dir = fresh_dir("report-out");
  const std::string file = dir + "/a-file";
  { std::ofstream(file) << "keep me\n"; }
  Run r = report({fixture_logs() + "/main", "--out", file});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "--out " + file + ": exists and is not a directory"));
  CHECK(slurp(file) == "keep me\n");

  r = report({fixture_logs() + "/main", "--out", file + "/report"});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "--out " + file + "/report: cannot be created"));
  CHECK(contains(r.err, file + " is not a directory"));
  CHECK(slurp(file) == "keep me\n");

  // A directory of other files the report would overwrite or remove (a paper's own
  // figures): refused, nothing lost; an earlier report's directory is replaced as before.
  const std::string paper = dir + "/paper";
  fs::create_directories(paper + "/figures");
  { std::ofstream(paper + "/figures/fig1.png") << "my figure"; }
  r = report({fixture_logs() + "/main", "--out", paper});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "fig1.png, which is not from a flowbp report"));
  CHECK(slurp(paper + "/figures/fig1.png") == "my figure");
  CHECK_FALSE(fs::exists(paper + "/report.md"));

  // Checked before the inputs are read: a bad --out with a bad input names the --out.
  r = report({dir + "/no-such-runs", "--out", file});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "--out"));
}

// ---------------------------------------------------------------------------------------------
// Base models: one per backbone.

TEST_CASE("runs on different backbones: one base-model row per backbone, each row compared with its own") {
  const std::string out = fresh_dir("report-backbones");
  const Run r = report({fixture_logs() + "/backbones", "--out", out, "--no-figures"});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const auto main = read_csv(out + "/tables/main.csv");
  // backbone.hidden = 128: base reward 0.5 (2 runs); 256: 0.6 (4 runs); cache_dir is a place, not a setting.
  const auto& b128 = find_row(main, {{"label", "base model [backbone.hidden=128]"}, {"metric", "reward"}});
  const auto& b256 = find_row(main, {{"label", "base model [backbone.hidden=256]"}, {"metric", "reward"}});
  CHECK(num(b128, "n") == 2);
  CHECK(num(b128, "mean") == doctest::Approx(0.5));
  CHECK(num(b256, "n") == 4);
  CHECK(num(b256, "mean") == doctest::Approx(0.6));
  CHECK(b128.at("backbone") == "backbone.hidden=128");
  // flowbp-sparse reward 0.705 on both; refl 0.705 on 256 only: each against its own backbone's base.
  const auto& s128 = find_row(main, {{"label", "flowbp-sparse [backbone.hidden=128]"}, {"metric", "reward"}});
  const auto& s256 = find_row(main, {{"label", "flowbp-sparse [backbone.hidden=256]"}, {"metric", "reward"}});
  const auto& refl = find_row(main, {{"label", "refl [backbone.hidden=256]"}, {"metric", "reward"}});
  CHECK(num(s128, "gain_over_base") == doctest::Approx(0.205));
  CHECK(num(s256, "gain_over_base") == doctest::Approx(0.105));
  CHECK(num(refl, "gain_over_base") == doctest::Approx(0.105));
  CHECK(refl.at("backbone") == "backbone.hidden=256");
  std::size_t base_rows = 0;
  for (const auto& row : main) base_rows += row.at("metric") == "reward" && row.at("label").rfind("base model", 0) == 0;
  CHECK(base_rows == 2);
  CHECK(contains(r.out, "| base model [backbone.hidden=128] | 2 |"));
  CHECK(contains(r.out, "| refl [backbone.hidden=256] | 2 |"));
  CHECK(contains(r.out, "against the base model of its own backbone"));

  // Pooling two base models into one row is refused, naming the key.
  const Run pooled = report({fixture_logs() + "/backbones", "--out", out + "/pooled", "--ignore", "backbone.hidden"});
  CHECK(pooled.rc == 2);
  CHECK(contains(pooled.err, "--ignore backbone.hidden"));
  CHECK(contains(pooled.err, "2 backbones"));
  CHECK_FALSE(fs::exists(out + "/pooled"));
}

TEST_CASE("one backbone: a single base-model row, labelled as before") {
  const std::string out = fresh_dir("report-one-backbone");
  REQUIRE(report({fixture_logs() + "/main", "--out", out, "--no-figures"}).rc == 0);
  const auto main = read_csv(out + "/tables/main.csv");
  std::size_t base_rows = 0;
  for (const auto& row : main) base_rows += row.at("metric") == "reward" && row.at("label").rfind("base model", 0) == 0;
  CHECK(base_rows == 1);
  CHECK(find_row(main, {{"label", "base model"}, {"metric", "reward"}}).at("n") == "6");
}

// ---------------------------------------------------------------------------------------------
// Labels: what a row's own variant set, not every key that varies somewhere.

TEST_CASE("rows are labelled by the keys they set: sweeps/lagrange.toml's variants") {
  const std::string out = fresh_dir("report-labels");
  const Run r = report({fixture_logs() + "/lagrange", "--out", out});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  std::set<std::string> labels;
  for (const auto& row : read_csv(out + "/tables/main.csv")) labels.insert(row.at("label"));
  CHECK(labels == std::set<std::string>{"base model", "P=1", "P=2", "P=3", "P=4, negative_weights=reduce",
                                        "weights=uniform", "support_scale=0.25", "support_scale=1"});
  // The setting column keeps every swept key, for scripts.
  const auto main = read_csv(out + "/tables/main.csv");
  CHECK(find_row(main, {{"label", "P=1"}, {"metric", "reward"}}).at("setting") ==
        "method.P=1, method.negative_weights=error, method.support_scale=0.5, method.weights=lagrange");
  // One method: the table says which once, in its header.
  CHECK(contains(r.out, "| flowbp-lagrange | n |"));
  CHECK(contains(r.out, "| P=4, negative_weights=reduce | 2 |"));
  bool legend = false;
  for (const auto& e : fs::directory_iterator(out + "/figures/data"))
    legend = legend || slurp(e.path().string()).rfind("# P=4, negative_weights=reduce\n", 0) == 0;
  CHECK(legend);
}

// ---------------------------------------------------------------------------------------------
// Figures: log scales stay log scales, bands of non-negative quantities stay >= 0, legends off the data.

namespace {

struct DatRow {
  double x, mean, lo, hi;
};

std::vector<DatRow> read_dat(const std::string& path) {
  std::vector<DatRow> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string x, m, lo, hi;
    fields >> x >> m >> lo >> hi;
    auto value = [](const std::string& s) { return s == "NaN" ? NAN : std::strtod(s.c_str(), nullptr); };
    rows.push_back({value(x), value(m), value(lo), value(hi)});
  }
  return rows;
}

std::vector<std::string> data_files(const std::string& figures, const std::string& figure) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(figures + "/data")) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".dat" && name.rfind(figure + "_", 0) == 0) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("grad_norm keeps its log scale when the hinge gives zero gradients, and says how many it leaves out") {
  const std::string out = fresh_dir("report-gradnorm");
  const Run r = report({fixture_logs() + "/lagrange", "--out", out});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  check_png(out + "/figures/grad_norm.png", 1000, 600, true);  // wider: the legend names the zero counts
  const std::string gp = slurp(out + "/figures/data/grad_norm.gp");
  CHECK(contains(gp, "set logscale y"));
  // Seed 1 of each variant has a zero norm every 7th step: 14 per variant, 98 in all.
  CHECK(contains(gp, "98 zero-norm values not shown"));
  std::vector<std::string> files;  // the bands; the others hold the steps with a zero norm
  for (const auto& f : data_files(out + "/figures", "grad_norm"))
    if (!contains(slurp(f), "steps with a zero norm")) files.push_back(f);
  REQUIRE(files.size() == 7);
  for (const auto& f : files)
    for (const auto& row : read_dat(f)) {
      CAPTURE(f);
      CHECK((std::isnan(row.mean) || row.mean > 0));
      CHECK((std::isnan(row.lo) || row.lo > 0));
    }
}

TEST_CASE("Fig. 7: r_0 band >= 0, every line labelled, r_s only where defined") {
  const std::string out = fresh_dir("report-fig7");
  const Run r = report({fixture_logs() + "/lagrange", "--out", out});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const std::string gp = slurp(out + "/figures/data/residual_reward.gp");
  CHECK(contains(gp, "title 'P=1: r_0'"));
  CHECK(contains(gp, "title 'P=2: r_s'"));
  CHECK_FALSE(contains(gp, "title 'P=1: r_s'"));  // P = 1 has no interior connector
  CHECK(contains(gp, "set key outside"));
  CHECK_FALSE(contains(gp, "inside"));
  for (const auto& f : data_files(out + "/figures", "residual_reward")) {
    CAPTURE(f);
    const std::string text = slurp(f);
    for (const auto& row : read_dat(f)) CHECK((std::isnan(row.lo) || row.lo >= 0));
    // r_s is defined on even steps only: its data holds those steps and no gaps.
    if (contains(text, ": r_s\n")) {
      const auto rows = read_dat(f);
      CHECK(rows.size() == 50);
      for (const auto& row : rows) CHECK(std::isfinite(row.mean));
    }
  }
}

TEST_CASE("memory_time_vs_N: legends outside the plot area, bands >= 0") {
  const std::string out = fresh_dir("report-memory-legend");
  REQUIRE(report({fixture_logs() + "/memory", "--out", out}).rc == 0);
  const std::string gp = slurp(out + "/figures/data/memory_time_vs_N.gp");
  CHECK_FALSE(contains(gp, "inside"));
  CHECK(contains(gp, "set key outside"));
}

// ---------------------------------------------------------------------------------------------
// Table 4: an interval on the difference from the baseline.

TEST_CASE("Table 4: a 95% CI on each delta, paired by seed when the seeds match, Welch otherwise") {
  const std::string out = fresh_dir("report-delta");
  const Run r = report({fixture_logs() + "/delta", "--out", out, "--no-figures"});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const auto abl = read_csv(out + "/tables/ablation.csv");
  // K=4 - K=2 per seed 0, 1, 2: 0.05, 0.02, 0.06 (see make_logs.py's drtune).
  const auto& k4 = find_row(abl, {{"value", "4"}, {"metric", "reward"}});
  CHECK(k4.at("gain_ci") == "paired");
  CHECK(num(k4, "gain_over_baseline") == doctest::Approx(0.13 / 3));
  const double mean = 0.13 / 3, sd = std::sqrt((std::pow(0.05 - mean, 2) + std::pow(0.02 - mean, 2) + std::pow(0.06 - mean, 2)) / 2);
  CHECK(num(k4, "gain_ci95_half") == doctest::Approx(t2 * sd / std::sqrt(3.0)));
  CHECK(find_row(abl, {{"value", "8"}, {"metric", "reward"}}).at("gain_ci") == "welch");
  CHECK(find_row(abl, {{"value", "32"}, {"metric", "reward"}}).at("gain_ci") == "none");
  CHECK(find_row(abl, {{"value", "32"}, {"metric", "reward"}}).at("gain_ci95_half") == "nan");
  CHECK(find_row(abl, {{"value", "2"}, {"metric", "reward"}}).at("gain_ci") == "baseline");
  CHECK(contains(r.out, "| 4 | 3 | paired |"));
  CHECK(contains(r.out, "| 8 | 3 | Welch |"));
  // The independent recomputation with scipy, every metric and variant.
  CHECK(run_shell(python() + " " + tests_source_dir() + "/check_report.py --delta " + out) == 0);
}

TEST_CASE("the gradient-fidelity table and figure, checked against the logs with h5py") {
  const std::string out = fresh_dir("report-fidelity");
  const Run r = report({fixture_logs() + "/fidelity", "--out", out});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  // Runs without the diagnostic (draft-lv, logged before it existed) are in Table 2, not here.
  CHECK(contains(r.out, "## Gradient fidelity"));
  CHECK(contains(r.out, "| method | n | cos to exact | norm ratio | bias cos | spread cos | steps |"));
  const auto rows = read_csv(out + "/tables/fidelity.csv");
  REQUIRE(rows.size() == 3);
  CHECK(std::none_of(rows.begin(), rows.end(), [](const CsvRow& row) { return row.at("label") == "draft-lv"; }));
  const CsvRow& full = find_row(rows, {{"label", "full-bp"}});
  CHECK(std::stod(full.at("cos_mean")) == 1.0);
  CHECK(full.at("cos_ci95_half") == "nan");  // one seed: no interval
  CHECK(contains(r.out, "| full-bp | 1 | 1 (n=1, no CI) | 1 (n=1, no CI) |"));
  const CsvRow& refl = find_row(rows, {{"label", "refl"}});
  CHECK(refl.at("bias_cos_mean") == "nan");  // no plan draws
  CHECK(refl.at("diagnostic_steps") == "30");
  // Per run the norm ratio's median: seed 2's one ratio of 1e9 does not reach the table.
  CHECK(std::stod(refl.at("norm_ratio_mean")) == doctest::Approx(0.6).epsilon(1e-12));
  const CsvRow& lagrange = find_row(rows, {{"label", "flowbp-lagrange"}});
  CHECK(lagrange.at("diagnostic_steps") == "29");
  CHECK(lagrange.at("nan_steps") == "1");
  CHECK(contains(r.out, "| 29 (+1 NaN) |"));
  // The figure: the cosine at the diagnostic steps only, its band within [-1, 1].
  check_png(out + "/figures/fidelity_cos.png", 3 * 320 + 40, 300 + 60);  // one panel per row, three in a line
  const std::string data = slurp(out + "/figures/data/fidelity_cos_0.dat");
  std::istringstream lines(data);
  std::string line;
  int points = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream v(line);
    double x, mean, lo, hi;
    v >> x >> mean >> lo >> hi;
    CHECK(std::fmod(x - 1, 10) == 0);
    CHECK(lo >= -1);
    CHECK(hi <= 1);
    ++points;
  }
  CHECK(points == 10);
  // Python recomputes every number of the table from the logs.
  CHECK(run_shell(python() + " " + tests_source_dir() + "/check_report.py --fidelity " + out + " " + fixture_logs() +
                  "/fidelity") == 0);
  // A report of runs without the diagnostic has no such table, file or figure.
  const std::string plain = fresh_dir("report-no-fidelity");
  const Run p = report({fixture_logs() + "/main", "--out", plain, "--no-figures"});
  CHECK_FALSE(contains(p.out, "Gradient fidelity"));
  CHECK_FALSE(fs::exists(plain + "/tables/fidelity.csv"));
}
