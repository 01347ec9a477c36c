// Prompt files and their filling (see prompt.h). Each role gets exactly the values its
// template is expected to use; fill_prompt's two-way check then proves the template and
// this code agree.
#include "agents/prompt.h"

#include "agents/anchors.h"
#include "core/error.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#ifndef TESSERA_PROMPTS_DIR
#define TESSERA_PROMPTS_DIR "prompts"
#endif

namespace tessera::agents {

std::string default_prompts_dir() {
  if (const char* env = std::getenv("TESSERA_PROMPTS_DIR"); env && *env) return env;
  return TESSERA_PROMPTS_DIR;
}

std::string load_prompt_file(const std::string& dir, const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(dir) / name;
  std::ifstream in(path);
  if (!in) fail("prompt template '{}' not found (prompts directory '{}'; set TESSERA_PROMPTS_DIR)", path.string(), dir);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

bool name_char(char c, bool first) {
  return c == '_' || std::islower(static_cast<unsigned char>(c)) || (!first && std::isdigit(static_cast<unsigned char>(c)));
}

}  // namespace

std::string fill_prompt(const std::string& text, const std::map<std::string, std::string>& values,
                        const std::string& template_name) {
  std::string out;
  std::set<std::string> used;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("{{", i);
    if (open == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    size_t j = open + 2;
    while (j < text.size() && name_char(text[j], j == open + 2)) ++j;
    if (j == open + 2 || text.compare(j, 2, "}}") != 0) {  // not a placeholder: literal "{{"
      out.append(text, i, open + 2 - i);
      i = open + 2;
      continue;
    }
    const std::string name = text.substr(open + 2, j - open - 2);
    auto it = values.find(name);
    if (it == values.end()) {
      const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(open), '\n'));
      fail("prompt {} line {}: placeholder {{{{{}}}}} has no value", template_name, line, name);
    }
    out.append(text, i, open - i);
    out += it->second;
    used.insert(name);
    i = j + 2;
  }
  for (const auto& [name, value] : values)
    if (!used.count(name)) fail("prompt {}: a value for '{}' was given but the template has no {{{{{}}}}}", template_name, name, name);
  return out;
}

std::vector<ChatMessage> build_messages(const std::string& dir, const ContextWindow& w, const PromptInputs& in) {
  const AnchorLanguage lang = parse_anchor_language(in.language);
  const std::string role = role_name(w.role);
  const bool is_root = w.node.id == w.root.id;
  std::map<std::string, std::string> v{
      {"language", in.language},
      {"target", in.target},
      {"node", render_node(w.node, is_root ? "this node, the root" : "this node", in.language)},
      {"root", is_root ? "(this node is the root)\n" : render_node(w.root, "root", in.language)},
      {"history", render_history(w, in.language)},
      {"anchor_rules", load_prompt_file(dir, lang == AnchorLanguage::Json ? "anchors_json.md" : "anchors_source.md")},
  };
  if (w.role == AgentRole::Code || w.role == AgentRole::Debug) {
    if (in.anchored.empty()) fail("{} prompt: the anchored text to edit is empty", role);
    v["anchored"] = in.anchored;
  }
  if (w.role == AgentRole::Debug) {
    if (in.diagnostics.empty()) fail("debug prompt: the diagnostics of the failed candidate are empty");
    v["diagnostics"] = in.diagnostics;
  }
  const std::string system = fill_prompt(load_prompt_file(dir, "system.md"), {}, "system.md");
  const std::string user = fill_prompt(load_prompt_file(dir, role + ".md"), v, role + ".md");
  return {{"system", system}, {"user", user}};
}

}  // namespace tessera::agents
