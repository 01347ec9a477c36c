// Fenced-block extraction (see fenced_code.h). Fences are recognised only at the start of a
// line, as CommonMark requires, so "```" inside a string literal in the code is not one.
#include "agents/fenced_code.h"

#include "core/error.h"

#include <vector>

namespace tessera::agents {

std::string extract_fenced_block(const std::string& reply, std::string_view language) {
  struct Block {
    std::string tag, body;
  };
  std::vector<Block> blocks;
  std::string open_tag, body;
  bool open = false;
  size_t start = 0;
  while (start <= reply.size()) {
    size_t nl = reply.find('\n', start);
    if (nl == std::string::npos) nl = reply.size();
    std::string line = reply.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t indent = line.find_first_not_of(' ');
    const bool fence = indent != std::string::npos && indent < 4 && line.compare(indent, 3, "```") == 0;
    if (fence && !open) {
      open = true;
      open_tag = line.substr(indent + 3);
      while (!open_tag.empty() && open_tag.back() == ' ') open_tag.pop_back();
      body.clear();
    } else if (fence && open && line.find_first_not_of("` ", indent) == std::string::npos) {
      open = false;
      blocks.push_back({open_tag, body});
    } else if (open) {
      body += line + "\n";
    }
    start = nl + 1;
  }
  if (open) fail("the reply's ```{} block is never closed", open_tag);
  std::vector<const Block*> tagged, untagged;
  for (const Block& b : blocks) {
    if (b.tag == language) tagged.push_back(&b);
    if (b.tag.empty()) untagged.push_back(&b);
  }
  const auto& pick = tagged.empty() ? untagged : tagged;
  if (pick.empty()) fail("the reply has no ```{} code block", language);
  if (pick.size() > 1) fail("the reply has {} ```{} code blocks; expected exactly one", pick.size(), language);
  return pick[0]->body;
}

}  // namespace tessera::agents
