#pragma once
// `compensatord admin list|show|retry|retry-matching|decide|abandon`: the operator's commands, talking to a
// replica's /v1 API. Human tables by default, the API's JSON with --json; the exit code says what
// kind of failure happened (kExit* below), so scripts can branch on it.

#include "admin/admin_client.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace compensatord::admin {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUnavailable = 1;  // no answer, or the API failed (5xx)
inline constexpr int kExitUsage = 2;        // bad flags, or the API refused the request (400)
inline constexpr int kExitNotFound = 3;     // no such transaction (404)
inline constexpr int kExitConflict = 4;     // refused as things stand: finished, in flight, already decided (409)
inline constexpr int kExitDenied = 5;       // no valid token, or a token without the scope (401, 403)

struct AdminOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string token_file;  // else the COMPENSATORD_TOKEN environment variable
  std::string ca_file;     // verifies an https:// API; empty: the system's certificate authorities
  bool json = false;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::string command;  // list, show, retry, retry-matching, decide or abandon
  std::string xid;
  std::string reason;
  std::string decision;
  // list
  std::string status, kind, participant, source, older_than, after;
  std::optional<int> limit;
  bool all_pages = false;
  // retry-matching (with list's filters)
  bool apply = false;
  // show
  std::optional<long long> attempts_after;
  std::optional<int> attempts_limit;
};

// Adds the `admin` command and its subcommands to `app`; parsing fills `options`.
CLI::App& add_admin_command(CLI::App& app, AdminOptions& options);

// Runs the parsed command against the API; returns the exit code. Results go to `out`, failures to
// `err`.
int run_admin(const AdminOptions& options, std::ostream& out, std::ostream& err);

// The exit code for an answer of the API.
int exit_code_for(const ApiAnswer& answer);

// Human renderings of the API's JSON (pure, for tests): text from the API is shown with control
// characters replaced, so a hostile xid or error cannot drive the operator's terminal.
std::string render_list(const nlohmann::json& page);
std::string render_transaction(const nlohmann::json& txn);
std::string render_action(const nlohmann::json& answer);
std::string render_retry_matching(const nlohmann::json& answer);

}  // namespace compensatord::admin
