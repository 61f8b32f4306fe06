// `flowbp methods`: the paper's Table 1, rebuilt from what the loaded plugins declare.
#include <boost/program_options.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "command_line.h"
#include "commands.h"
#include "plugin_loading.h"
#include "flowbp/registry.h"
#include "flowbp/text.h"
#include "settings_listing.h"

namespace po = boost::program_options;

namespace flowbp::cli {

namespace {

void print_json(const Registry& registry, const std::vector<std::string>& names, std::ostream& out) {
  out << "[\n";
  bool first = true;
  for (const auto& name : names) {
    const LoadedMethod& loaded = registry.all().at(name);
    const MethodInfo info = loaded.method->info();
    out << (first ? "" : ",\n") << "  {\"name\": " << quoted(info.name) << ", \"display_name\": "
        << quoted(info.display_name) << ", \"description\": " << quoted(info.description)
        << ", \"citation\": " << quoted(info.citation) << ", \"plugin\": " << quoted(loaded.path)
        << ",\n   \"axes\": {\"reward_input\": " << quoted(info.axes.reward_input) << ", \"weights\": "
        << quoted(info.axes.weights) << ", \"active_set\": " << quoted(info.axes.active_set)
        << ", \"bridge\": " << quoted(info.axes.bridge) << "},\n   \"params\": "
        << settings_json(loaded.method->settings(), "     ") << ",\n   \"presets\": " << presets_json(loaded.method->presets(), "     ")
        << "}";
    first = false;
  }
  out << "\n]\n";
}

void print_table(const Registry& registry, std::ostream& out) {
  const std::vector<std::string> head = {"method", "reward input", "weights", "active set", "bridge"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, loaded] : registry.all()) {
    const MethodInfo i = loaded.method->info();
    rows.push_back({i.display_name + " (" + i.name + ")", i.axes.reward_input, i.axes.weights, i.axes.active_set,
                    i.axes.bridge});
  }
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    out << '|';
    for (std::size_t c = 0; c < cells.size(); ++c)
      out << ' ' << cells[c] << std::string(width[c] - cells[c].size(), ' ') << " |";
    out << '\n';
  };
  out << "Table 1: the methods as points of the four-axis design space\n\n";
  line(head);
  out << '|';
  for (auto w : width) out << std::string(w + 2, '-') << '|';
  out << '\n';
  for (const auto& r : rows) line(r);
  out << "\n`flowbp methods NAME` lists a method's settings and presets.\n";
}

void print_method(const Method& method, const std::string& path, std::ostream& out) {
  const MethodInfo i = method.info();
  out << i.display_name << " (" << i.name << ")\n  " << i.description << "\n  cite: " << i.citation
      << "\n  plugin: " << path << "\n\n  reward input: " << i.axes.reward_input << "\n  weights:      "
      << i.axes.weights << "\n  active set:   " << i.axes.active_set << "\n  bridge:       " << i.axes.bridge
      << "\n\n";
  print_settings(method.settings(), "method", out);
  const std::vector<Preset> presets = method.presets();
  out << "\n  presets (method.preset = \"<name>\" in an experiment, or flowbp train --preset <name>;\n"
         "  settings given explicitly override a preset's values):\n";
  if (presets.empty()) out << "    (none)\n";
  for (const auto& p : presets)
    out << "    " << p.name << ": " << p.description << "\n        from " << p.source << "\n        "
        << preset_values_text(p) << '\n';
}

}  // namespace

int methods(const Args& args) {
  po::options_description opts("flowbp methods [NAME] [options]");
  std::vector<std::string> plugin_dirs;
  std::vector<std::string> names;
  opts.add_options()("help,h", "show this help")(
      "json", "print the methods (every one, or those named) with their axes, settings and presets as JSON")(
      "plugin-dir", po::value(&plugin_dirs)->composing(), "extra directory to load method plugins from (repeatable)");
  po::options_description hidden;
  hidden.add_options()("name", po::value(&names), "show one method's settings");
  po::positional_options_description pos;
  pos.add("name", -1);
  po::variables_map vm;
  try {
    vm = parse_options(args, opts, hidden, pos);
  } catch (const UsageError& e) {
    return usage_error("methods", e.what());
  }
  if (vm.count("help")) {
    std::cout << opts << "\nPlugins are searched in --plugin-dir, $FLOWBP_PLUGIN_PATH (colon-separated), the build\n"
                         "tree and the install directory.\n";
    return 0;
  }
  Registry registry;
  load_method_plugins(registry, plugin_dirs, "methods");
  for (const auto& n : names) registry.get(n);  // throws with a suggestion for an unknown name
  if (vm.count("json")) {
    print_json(registry, names.empty() ? registry.names() : names, std::cout);
  } else if (!names.empty()) {
    for (const auto& n : names) print_method(registry.get(n), registry.all().at(n).path, std::cout);
  } else {
    print_table(registry, std::cout);
  }
  return 0;
}

}  // namespace flowbp::cli
