// Chat prompts. Model files carry their chat template as Jinja source; no well-kept C++
// Jinja engine is packaged for Debian, and running arbitrary template code is more than a
// decode tool needs. So Tessera recognises the template families real Llama-family models
// ship (by their marker tokens) and renders them natively, and refuses anything else with
// an error naming the families it knows.
#pragma once

#include <string>
#include <vector>

namespace tessera {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

enum class ChatFamily { ChatML, Llama3, Llama2, Zephyr };

// Throws tessera::Error when the template is empty or of an unknown family.
ChatFamily detect_chat_family(const std::string& jinja_template);
std::string chat_family_name(ChatFamily f);

// Renders messages followed by the assistant turn's opening (add_generation_prompt).
// A default system prompt written literally in the template (as SmolLM2's is) is
// inserted when the conversation has none. The BOS token is not included: the tokenizer
// adds it when the format asks.
std::string render_chat(const std::string& jinja_template, const std::vector<ChatMessage>& messages);

}  // namespace tessera
