// Prompt templates live as Markdown files in the repository's prompts/ directory (one per
// role, plus system.md and the anchor rules per language) so they can be read, reviewed and
// changed without touching code. A template names its inputs as {{placeholder}}; filling
// is strict both ways (a placeholder without a value, or a value the template never uses,
// is an error) so a renamed placeholder cannot silently drop context from every prompt.
#pragma once

#include "agents/context_window.h"
#include "agents/llm_client.h"

#include <map>
#include <string>
#include <vector>

namespace tessera::agents {

// $TESSERA_PROMPTS_DIR, else the source tree's prompts/ (compiled in).
std::string default_prompts_dir();

// The text of `dir`/`name`; throws tessera::Error naming the path when missing.
std::string load_prompt_file(const std::string& dir, const std::string& name);

// Placeholders are {{name}} with name in [a-z_][a-z0-9_]*; any other "{{" is literal text.
// Values are inserted verbatim and never re-scanned. `template_name` is for messages.
std::string fill_prompt(const std::string& text, const std::map<std::string, std::string>& values,
                        const std::string& template_name);

// What a role's prompt needs beyond its context window.
struct PromptInputs {
  std::string language;     // "cuda" | "cpp" | "json": what the node's content is
  std::string target;       // the model, GPU and floor, in a few lines
  std::string anchored;     // code, debug: the anchored text the agent edits
  std::string diagnostics;  // debug: why the candidate failed (build log, validator, mismatch)
};

// [system, user] messages for `window.role` from prompts/system.md and prompts/<role>.md.
std::vector<ChatMessage> build_messages(const std::string& prompts_dir, const ContextWindow& window,
                                        const PromptInputs& inputs);

}  // namespace tessera::agents
