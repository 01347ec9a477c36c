// The compile gate in a child process: stand-ins for `tessera variant-compile` show that a
// compiler that hangs or dies costs one candidate (a rejection naming why), that a gate
// which cannot run still says so as an error, and that the child's result comes back
// whole; the real child compiles the reference variant where this build has NVRTC.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "test_util.h"
#include "variants/variant_compile_isolated.h"

namespace tessera::variants {
namespace {

const VariantSpec& spec() { return variant_spec("matvec_bf16"); }

std::string fake_tessera(const test::TempDir& dir, const std::string& body) {
  const std::string script = dir.file("fake-tessera");
  {
    std::ofstream f(script);
    // $out: the value after --out (where the real child writes its result).
    f << "#!/bin/sh\nfor a in \"$@\"; do if [ -n \"$want\" ]; then out=\"$a\"; want=; fi; [ \"$a\" = --out ] && want=1; done\n"
      << body;
  }
  chmod(script.c_str(), 0755);
  return script;
}

TEST(VariantCompileIsolated, ACompilerThatHangsIsKilledAndRejects) {
  test::TempDir dir;
  const CompileResult r = compile_variant_isolated("__device__ void f() {}", spec(), {},
                                                   {fake_tessera(dir, "sleep 30\n"), 0.5});
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, "error");
  EXPECT_NE(r.diagnostics[0].message.find("ran past its 0.5 s limit"), std::string::npos) << r.diagnostics[0].message;
  EXPECT_LT(r.seconds, 10.0);
}

TEST(VariantCompileIsolated, ACompilerThatCrashesRejects) {
  test::TempDir dir;
  const CompileResult r =
      compile_variant_isolated("x", spec(), {}, {fake_tessera(dir, "echo 'ptxas died' >&2\nkill -SEGV $$\n"), 10});
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("killed by signal 11"), std::string::npos) << r.diagnostics[0].message;
  EXPECT_NE(r.diagnostics[0].message.find("ptxas died"), std::string::npos) << r.diagnostics[0].message;
}

TEST(VariantCompileIsolated, AGateThatCannotRunIsAnError) {
  test::TempDir dir;
  const std::string script = fake_tessera(dir, "echo 'tessera: compile gate: this build has no NVRTC' >&2\nexit 1\n");
  const std::string e = test::error_of([&] { compile_variant_isolated("x", spec(), {}, {script, 10}); });
  EXPECT_NE(e.find("this build has no NVRTC"), std::string::npos) << e;
  // Exit 0 without a result is the child's fault too, never a silent pass.
  const std::string silent = fake_tessera(dir, "exit 0\n");
  EXPECT_NE(test::error_of([&] { compile_variant_isolated("x", spec(), {}, {silent, 10}); }).find("without writing result.json"),
            std::string::npos);
}

TEST(VariantCompileIsolated, TheChildsResultComesBackWhole) {
  test::TempDir dir;
  const std::string script = fake_tessera(
      dir,
      "printf 'PTX-TEXT' > \"$out/variant.ptx\"\nprintf 'CUBIN' > \"$out/variant.cubin\"\n"
      "printf '{\"ok\": true, \"arch\": \"sm_90a\", \"seconds\": 0.25, \"log\": \"fine\", \"diagnostics\": "
      "[{\"file\": \"variant\", \"line\": 3, \"severity\": \"warning\", \"message\": \"unused\"}]}' > \"$out/result.json\"\n");
  CompileOptions o;
  o.arch = "sm_90a";
  const CompileResult r = compile_variant_isolated("src", spec(), o, {script, 10});
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.arch, "sm_90a");
  EXPECT_EQ(r.ptx, "PTX-TEXT");
  EXPECT_EQ(r.cubin, "CUBIN");
  EXPECT_EQ(r.log, "fine");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 3);
  EXPECT_EQ(r.diagnostics[0].message, "unused");
  // Success without a cubin is not believed.
  const std::string liar = fake_tessera(
      dir, "printf '{\"ok\": true, \"arch\": \"sm_80\", \"seconds\": 0, \"log\": \"\", \"diagnostics\": []}' > \"$out/result.json\"\n");
  EXPECT_NE(test::error_of([&] { compile_variant_isolated("src", spec(), {}, {liar, 10}); }).find("wrote no cubin"),
            std::string::npos);
}

// The real child: compiles the reference variant where NVRTC is; says why not elsewhere.
TEST(VariantCompileIsolated, RealChildCompilesTheReferenceOrSaysWhyNot) {
  std::string why;
  if (!nvrtc_available(&why)) {
    const std::string e = test::error_of(
        [] { compile_variant_isolated(reference_source(spec()), spec(), {}, {TESSERA_BINARY, 60}); });
    EXPECT_NE(e.find("no NVRTC"), std::string::npos) << e;
    GTEST_SKIP() << why;
  }
  const CompileResult r = compile_variant_isolated(reference_source(spec()), spec(), {}, {TESSERA_BINARY, 120});
  EXPECT_TRUE(r.ok) << r.summary();
  EXPECT_FALSE(r.cubin.empty());
  EXPECT_NE(r.ptx.find(".entry"), std::string::npos);
}

}  // namespace
}  // namespace tessera::variants
