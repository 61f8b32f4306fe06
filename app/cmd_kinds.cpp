// `flowbp backbones` and `flowbp rewards`: the registered kinds and their settings,
// as a table, one kind in full, or JSON.
#include <boost/program_options.hpp>

#include <iostream>

#include "command_line.h"
#include "commands.h"
#include "flowbp/did_you_mean.h"
#include "flowbp/reward.h"
#include "flowbp/text.h"
#include "settings_listing.h"

namespace po = boost::program_options;

namespace flowbp::cli {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void print_kind(const KindInfo& k, const std::string& section, std::ostream& out) {
  out << k.name << "  (" << section << ".kind = \"" << k.name << "\")\n  " << k.summary << "\n";
  if (!k.default_reward.empty()) out << "  default reward: " << k.default_reward << "\n";
  if (!k.backbones.empty()) out << "  scores backbones: " << joined(k.backbones) << "\n";
  out << "\n";
  print_settings(k.settings, section, out);
}

void print_json(const std::vector<KindInfo>& kinds, std::ostream& out) {
  out << "[\n";
  bool first = true;
  for (const auto& k : kinds) {
    out << (first ? "" : ",\n") << "  {\"name\": " << quoted(k.name) << ", \"summary\": " << quoted(k.summary);
    if (!k.default_reward.empty()) out << ", \"default_reward\": " << quoted(k.default_reward);
    if (!k.backbones.empty()) {
      out << ", \"backbones\": [";
      for (std::size_t i = 0; i < k.backbones.size(); ++i) out << (i ? ", " : "") << quoted(k.backbones[i]);
      out << ']';
    }
    out << ",\n   \"settings\": " << settings_json(k.settings, "     ") << '}';
    first = false;
  }
  out << "\n]\n";
}

int list_kinds(const Args& args, const std::string& section, const std::vector<KindInfo>& all) {
  const std::string command = section + "s";
  po::options_description opts("flowbp " + command + " [NAME...] [options]");
  std::vector<std::string> names;
  opts.add_options()("help,h", "show this help")("json", "print the kinds (every one, or those named) as JSON");
  po::options_description hidden;
  hidden.add_options()("name", po::value(&names), "show one kind's settings");
  po::positional_options_description pos;
  pos.add("name", -1);
  po::variables_map vm;
  try {
    vm = parse_options(args, opts, hidden, pos);
  } catch (const UsageError& e) {
    return usage_error(command, e.what());
  }
  if (vm.count("help")) {
    std::cout << opts << "\nEvery " << section << " kind declares its settings (" << section
              << ".<name> in an experiment);\nthe experiment loader checks them before any run.\n";
    return 0;
  }
  std::vector<KindInfo> chosen;
  std::vector<std::string> known;
  for (const auto& k : all) known.push_back(k.name);
  for (const auto& n : names) {
    const KindInfo* found = nullptr;
    for (const auto& k : all)
      if (k.name == n) found = &k;
    if (!found) throw std::invalid_argument("unknown " + section + " kind '" + n + "'" + did_you_mean(n, known) +
                                            "; registered: " + joined(known));
    chosen.push_back(*found);
  }
  if (names.empty()) chosen = all;
  if (vm.count("json")) {
    print_json(chosen, std::cout);
  } else if (!names.empty()) {
    for (const auto& k : chosen) print_kind(k, section, std::cout);
  } else {
    std::cout << section << " kinds (" << section << ".kind):\n\n";
    std::size_t width = 0;
    for (const auto& k : all) width = std::max(width, k.name.size());
    for (const auto& k : all) std::cout << "  " << k.name << std::string(width - k.name.size() + 2, ' ') << k.summary << "\n";
    std::cout << "\n`flowbp " << command << " NAME` lists a kind's settings.\n";
  }
  return 0;
}

}  // namespace

int backbones(const Args& args) { return list_kinds(args, "backbone", model_catalog(nullptr).backbones()); }
int rewards(const Args& args) { return list_kinds(args, "reward", model_catalog(nullptr).rewards()); }

}  // namespace flowbp::cli
