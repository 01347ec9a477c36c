#include "chat/chat_template.h"

#include "core/error.h"

namespace tessera {
namespace {

bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// The literal default system prompt of ChatML templates that insert one when the first
// message is not a system message: the text between "<|im_start|>system\n" and
// "<|im_end|>" inside a string literal of the template.
std::string chatml_default_system(const std::string& t) {
  const std::string open = "<|im_start|>system\n";
  size_t p = t.find(open);
  if (p == std::string::npos) return "";
  size_t begin = p + open.size();
  size_t end = t.find("<|im_end|>", begin);
  if (end == std::string::npos) return "";
  std::string s = t.substr(begin, end - begin);
  // A Jinja expression here (e.g. "' + message['content'] + '") is not a literal default.
  if (contains(s, "'") || contains(s, "{") || contains(s, "\"")) return "";
  return s;
}

}  // namespace

ChatFamily detect_chat_family(const std::string& t) {
  if (t.empty()) fail("the model has no chat template (use a plain prompt instead of --chat)");
  if (contains(t, "<|im_start|>")) return ChatFamily::ChatML;
  if (contains(t, "<|start_header_id|>")) return ChatFamily::Llama3;
  if (contains(t, "[INST]")) return ChatFamily::Llama2;
  if (contains(t, "<|user|>")) return ChatFamily::Zephyr;
  fail("unsupported chat template (recognised families: chatml, llama3, llama2/mistral "
       "[INST], zephyr); use a plain prompt instead");
}

std::string chat_family_name(ChatFamily f) {
  switch (f) {
    case ChatFamily::ChatML: return "chatml";
    case ChatFamily::Llama3: return "llama3";
    case ChatFamily::Llama2: return "llama2";
    case ChatFamily::Zephyr: return "zephyr";
  }
  return "?";
}

std::string render_chat(const std::string& t, const std::vector<ChatMessage>& messages) {
  for (const auto& m : messages)
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      fail("chat message role '{}' is not one of system, user, assistant", m.role);
  std::string out;
  switch (detect_chat_family(t)) {
    case ChatFamily::ChatML: {
      std::string def = chatml_default_system(t);
      if (!def.empty() && (messages.empty() || messages[0].role != "system"))
        out += "<|im_start|>system\n" + def + "<|im_end|>\n";
      for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      out += "<|im_start|>assistant\n";
      break;
    }
    case ChatFamily::Llama3:
      for (const auto& m : messages)
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatFamily::Llama2: {
      // Mistral/Llama 2: a system prompt is folded into the first user turn.
      std::string system;
      for (const auto& m : messages) {
        if (m.role == "system") {
          system = m.content;
        } else if (m.role == "user") {
          std::string c = system.empty() ? m.content : "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + m.content;
          system.clear();
          out += "[INST] " + c + " [/INST]";
        } else {
          out += " " + m.content + "</s>";
        }
      }
      break;
    }
    case ChatFamily::Zephyr:
      for (const auto& m : messages) out += "<|" + m.role + "|>\n" + m.content + "</s>\n";
      out += "<|assistant|>\n";
      break;
  }
  return out;
}

}  // namespace tessera
