// The `tessera` command line. Exit codes: 0 success, 1 runtime failure (bad model file,
// unsupported architecture, prompt too long, ...), 2 usage error (bad flags).
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"tessera: compile transformer decode steps into verified GPU megakernels"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  tessera::cli::add_registered_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const tessera::cli::ExitCode& e) {
    return e.code;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tessera: usage error: %s (see --help)\n", e.what());
    return 2;
  } catch (const tessera::UsageError& e) {
    std::fprintf(stderr, "tessera: usage error: %s (see --help)\n", e.what());
    return 2;
  } catch (const tessera::Error& e) {
    std::fprintf(stderr, "tessera: error: %s\n", e.what());
    return 1;
  } catch (const tessera::InternalError& e) {
    std::fprintf(stderr, "tessera: %s\n(this is a bug in tessera; please report it)\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tessera: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tessera: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
