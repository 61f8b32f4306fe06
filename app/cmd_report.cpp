// `flowbp report <dir or files>...`: the paper's tables and figures from run logs.
#include <boost/program_options.hpp>

#include <iostream>

#include "command_line.h"
#include "commands.h"
#include "flowbp/did_you_mean.h"
#include "report.h"

namespace po = boost::program_options;

namespace flowbp::cli {

namespace {

po::options_description report_options() {
  po::options_description o("flowbp report <dir or log.h5>... [options]\n\n"
                            "Tables (Markdown on stdout and report.md, CSV in tables/) and PNG figures\n"
                            "from HDF5 run logs; directories are searched recursively for *.h5.\n\noptions");
  o.add_options()
      ("help,h", "show this help")
      ("out,o", po::value<std::string>(), "output directory (default <first dir>/report); an existing file is refused")
      ("metric,m", po::value<std::string>(), "metric for the sweep and eval figures (default reward)")
      ("by", po::value<std::string>(), "config key for the ablation table, e.g. method.K (default: the one key a method varies)")
      ("baseline", po::value<std::string>(),
       "value of the --by key that gains are measured against (default the first); every ablation must have it")
      ("ignore", po::value<std::vector<std::string>>()->composing(), "config key that is not a swept setting (repeatable)")
      ("no-figures", "tables only");
  return o;
}

}  // namespace

int report(const Args& args) {
  auto visible = report_options();
  po::options_description hidden;
  hidden.add_options()("input", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("input", -1);
  po::variables_map vm;
  try {
    vm = parse_options(args, visible, hidden, positional);
  } catch (const UsageError& e) {
    return usage_error("report", e.what());
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return 0;
  }
  analysis::ReportOptions options;
  if (vm.count("input")) options.inputs = vm["input"].as<std::vector<std::string>>();
  if (options.inputs.empty()) {
    std::cerr << "flowbp report: give at least one run directory or log file\n" << visible << "\n";
    return 2;
  }
  if (vm.count("out")) options.out_dir = vm["out"].as<std::string>();
  if (vm.count("metric")) options.metric = vm["metric"].as<std::string>();
  if (vm.count("by")) options.by = vm["by"].as<std::string>();
  if (vm.count("baseline")) options.baseline = vm["baseline"].as<std::string>();
  if (vm.count("ignore"))
    for (const auto& k : vm["ignore"].as<std::vector<std::string>>()) options.ignored_keys.insert(k);
  options.figures = !vm.count("no-figures");

  analysis::Report report;
  try {
    report = analysis::make_report(options);
  } catch (const std::exception& e) {
    std::cerr << "flowbp report: " << e.what() << "\n";
    return 2;
  }
  std::cout << analysis::render_markdown(report) << "\n";
  std::cout << "report: " << report.markdown_path << "\n";
  for (const auto& t : report.tables) std::cout << "table: " << t << "\n";
  std::cout << (report.figures.empty() ? "figures: none written\n" : "figures:\n");
  for (const auto& f : report.figures) std::cout << "  " << f << "\n";
  // Nothing to tabulate is a failure a script should see; unreadable files among good ones are not.
  return report.table.rows.empty() ? 1 : 0;
}

}  // namespace flowbp::cli
