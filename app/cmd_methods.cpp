// `flowbp methods`: the paper's Table 1, rebuilt from what the loaded plugins declare.
#include <boost/program_options.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "flowbp/registry.h"
#include "flowbp/text.h"

namespace po = boost::program_options;

namespace flowbp::cli {

namespace {

std::string json_value(const ParamValue& v) {
  if (auto s = std::get_if<std::string>(&v)) return quoted(*s);
  return format_value(v);
}

void print_json(const Registry& registry, std::ostream& out) {
  out << "[\n";
  bool first = true;
  for (const auto& [name, loaded] : registry.all()) {
    const MethodInfo info = loaded.method->info();
    out << (first ? "" : ",\n") << "  {\"name\": " << quoted(info.name) << ", \"display_name\": "
        << quoted(info.display_name) << ", \"description\": " << quoted(info.description)
        << ", \"citation\": " << quoted(info.citation) << ", \"plugin\": " << quoted(loaded.path)
        << ",\n   \"axes\": {\"reward_input\": " << quoted(info.axes.reward_input) << ", \"weights\": "
        << quoted(info.axes.weights) << ", \"active_set\": " << quoted(info.axes.active_set)
        << ", \"bridge\": " << quoted(info.axes.bridge) << "},\n   \"params\": [";
    bool first_param = true;
    for (const auto& p : loaded.method->params()) {
      out << (first_param ? "\n" : ",\n") << "     {\"name\": " << quoted(p.name) << ", \"type\": \""
          << to_string(p.type) << "\", \"default\": " << json_value(p.default_value);
      if (p.min) out << ", \"min\": " << *p.min;
      if (p.max) out << ", \"max\": " << *p.max;
      if (!p.choices.empty()) {
        out << ", \"choices\": [";
        for (std::size_t i = 0; i < p.choices.size(); ++i)
          out << (i ? ", " : "") << quoted(p.choices[i]);
        out << ']';
      }
      out << ", \"help\": " << quoted(p.help) << "}";
      first_param = false;
    }
    out << "]}";
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
  out << "\n`flowbp methods NAME` lists a method's settings.\n";
}

void print_method(const Method& method, const std::string& path, std::ostream& out) {
  const MethodInfo i = method.info();
  out << i.display_name << " (" << i.name << ")\n  " << i.description << "\n  cite: " << i.citation
      << "\n  plugin: " << path << "\n\n  reward input: " << i.axes.reward_input << "\n  weights:      "
      << i.axes.weights << "\n  active set:   " << i.axes.active_set << "\n  bridge:       " << i.axes.bridge
      << "\n\n  settings (method.<name> in an experiment):\n";
  for (const auto& p : method.params())
    out << "    " << p.name << " : " << to_string(p.type) << " = " << format_value(p.default_value) << "  "
        << p.range_text() << "\n        " << p.help << '\n';
}

}  // namespace

int methods(const Args& args) {
  po::options_description opts("flowbp methods [NAME] [options]");
  std::vector<std::string> plugin_dirs;
  std::vector<std::string> names;
  opts.add_options()("help,h", "show this help")("json", "print every method, its axes and settings as JSON")(
      "plugin-dir", po::value(&plugin_dirs)->composing(), "extra directory to load method plugins from (repeatable)")(
      "name", po::value(&names), "show one method's settings");
  po::positional_options_description pos;
  pos.add("name", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << opts << "\nPlugins are searched in --plugin-dir, $FLOWBP_PLUGIN_PATH (colon-separated), the build\n"
                         "tree and the install directory.\n";
    return 0;
  }
  Registry registry;
  registry.load_search_path(plugin_dirs);
  if (vm.count("json")) {
    print_json(registry, std::cout);
  } else if (!names.empty()) {
    for (const auto& n : names) {
      const Method& method = registry.get(n);  // throws with a suggestion for an unknown name
      print_method(method, registry.all().at(n).path, std::cout);
    }
  } else {
    print_table(registry, std::cout);
  }
  return 0;
}

}  // namespace flowbp::cli
