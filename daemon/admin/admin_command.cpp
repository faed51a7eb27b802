#include "admin/admin_command.hpp"

#include "model/text.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

namespace compensatord::admin {
namespace {

// Wider cells are cut: a table stays readable with a 4 KiB parked reason in it.
constexpr std::size_t kMaxCellBytes = 60;
constexpr std::size_t kMaxTokenFileBytes = 4096;

// A value of the API's JSON as one line of text for a terminal.
std::string printable(const nlohmann::json& value, std::size_t max_bytes = kMaxCellBytes) {
  std::string text;
  if (value.is_null()) return "-";
  if (value.is_string()) {
    text = value.get<std::string>();
  } else {
    text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte == 0x7f) ? '?' : c;
  }
  if (out.size() > max_bytes) return std::string(utf8_prefix(out, max_bytes - 3)) + "...";
  return out;
}

nlohmann::json field(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(key);
  return found == object.end() ? nlohmann::json(nullptr) : *found;
}

// Columns padded to their widest cell (in bytes: names and codes here are ASCII).
std::string render_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& h : headers) widths.push_back(h.size());
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(widths[i] - cells[i].size() + 2, ' ');
    }
    return out + "\n";
  };
  std::string out = line(headers);
  for (const auto& row : rows) out += line(row);
  return out;
}

// Why a listed transaction is where it is: its parked reason, else its last error.
nlohmann::json reason_of(const nlohmann::json& txn) {
  const auto parked = field(txn, "parked_reason");
  return parked.is_string() && !parked.get<std::string>().empty() ? parked : field(txn, "last_error");
}

std::vector<std::vector<std::string>> list_rows(const nlohmann::json& transactions) {
  std::vector<std::vector<std::string>> rows;
  if (!transactions.is_array()) return rows;
  for (const auto& t : transactions) {
    rows.push_back({printable(field(t, "xid")), printable(field(t, "status")), printable(field(t, "decision")),
                    printable(field(t, "kind")), printable(field(t, "attempt_count")),
                    printable(field(t, "created_at")), printable(reason_of(t))});
  }
  return rows;
}

std::string read_token(const AdminOptions& options) {
  if (!options.token_file.empty()) {
    std::ifstream file(options.token_file, std::ios::binary);
    if (!file) throw std::runtime_error(fmt::format("--token-file {}: cannot be read", options.token_file));
    std::string token(kMaxTokenFileBytes + 1, '\0');
    file.read(token.data(), static_cast<std::streamsize>(token.size()));
    token.resize(static_cast<std::size_t>(file.gcount()));
    if (token.size() > kMaxTokenFileBytes) {
      throw std::runtime_error(
          fmt::format("--token-file {}: longer than {} bytes", options.token_file, kMaxTokenFileBytes));
    }
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    return token;
  }
  if (const char* token = std::getenv("COMPENSATORD_TOKEN")) return token;
  throw std::runtime_error("no API token: set COMPENSATORD_TOKEN or pass --token-file");
}

using Query = std::vector<std::pair<std::string, std::string>>;

Query list_query(const AdminOptions& o) {
  Query query;
  for (const auto& [name, value] :
       {std::pair{"status", &o.status}, std::pair{"kind", &o.kind}, std::pair{"participant", &o.participant},
        std::pair{"source", &o.source}, std::pair{"older_than", &o.older_than}, std::pair{"after", &o.after}}) {
    if (!value->empty()) query.emplace_back(name, *value);
  }
  if (o.limit) query.emplace_back("limit", std::to_string(*o.limit));
  return query;
}

void report_failure(const ApiAnswer& answer, std::ostream& err) {
  if (answer.status == 0) {
    err << "compensatord admin: no answer from the API: " << printable(answer.transport_error, 500) << "\n";
    return;
  }
  const auto code = field(answer.body, "code");
  const auto error = field(answer.body, "error");
  if (code.is_string()) {
    err << "compensatord admin: " << answer.status << " " << printable(code) << ": " << printable(error, 500) << "\n";
  } else {
    err << "compensatord admin: HTTP " << answer.status << ": " << printable(answer.raw_body, 200) << "\n";
  }
}

// Every page of the list, one request each, until the API says there is no next one.
ApiAnswer list_all(AdminClient& client, Query query) {
  nlohmann::json transactions = nlohmann::json::array();
  for (;;) {
    auto answer = client.list(query);
    if (answer.status != 200 || !answer.body.is_object()) return answer;
    for (auto& t : answer.body["transactions"]) transactions.push_back(std::move(t));
    const auto next = field(answer.body, "next_after");
    if (!next.is_string()) {
      answer.body = {{"transactions", std::move(transactions)}, {"next_after", nullptr}};
      return answer;
    }
    std::erase_if(query, [](const auto& pair) { return pair.first == "after"; });
    query.emplace_back("after", next.get<std::string>());
  }
}

ApiAnswer call(const AdminOptions& o, AdminClient& client) {
  if (o.command == "list") return o.all_pages ? list_all(client, list_query(o)) : client.list(list_query(o));
  if (o.command == "show") {
    Query query;
    if (o.attempts_after) query.emplace_back("attempts_after", std::to_string(*o.attempts_after));
    if (o.attempts_limit) query.emplace_back("attempts_limit", std::to_string(*o.attempts_limit));
    return client.show(o.xid, query);
  }
  nlohmann::json body = nlohmann::json::object();
  if (!o.reason.empty()) body["reason"] = o.reason;
  if (o.command == "retry-matching") {
    body["dry_run"] = !o.apply;
    return client.retry_matching(list_query(o), body);
  }
  if (o.command == "decide") body["decision"] = o.decision;
  return client.act(o.xid, o.command, body);
}

std::string render(const AdminOptions& o, const nlohmann::json& body) {
  if (o.json) return body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (o.command == "list") return render_list(body);
  if (o.command == "show") return render_transaction(body);
  if (o.command == "retry-matching") return render_retry_matching(body);
  return render_action(body);
}

}  // namespace

int exit_code_for(const ApiAnswer& answer) {
  if (answer.status >= 200 && answer.status < 300) return kExitOk;
  switch (answer.status) {
    case 400:
    case 405:
      return kExitUsage;
    case 401:
    case 403:
      return kExitDenied;
    case 404:
      return kExitNotFound;
    case 409:
      return kExitConflict;
    default:
      return kExitUnavailable;
  }
}

std::string render_list(const nlohmann::json& page) {
  const auto rows = list_rows(field(page, "transactions"));
  std::string out =
      render_table({"XID", "STATUS", "DECISION", "KIND", "ATTEMPTS", "CREATED", "REASON / LAST ERROR"}, rows);
  const auto next = field(page, "next_after");
  if (next.is_string()) {
    out += fmt::format("(more: --after '{}', or --all)\n", printable(next, 300));
  } else {
    out += fmt::format("({} transactions)\n", rows.size());
  }
  return out;
}

std::string render_transaction(const nlohmann::json& txn) {
  std::string out;
  for (const char* key : {"xid", "status", "decision", "decided_by", "kind", "source", "created_at", "due_at",
                          "next_attempt_at", "attempt_count", "last_error", "last_http_status", "parked_reason"}) {
    out += fmt::format("{:<16} {}\n", std::string(key) + ":", printable(field(txn, key), 500));
  }
  std::vector<std::vector<std::string>> branches;
  for (const auto& b : field(txn, "branches").is_array() ? field(txn, "branches") : nlohmann::json::array()) {
    branches.push_back({printable(field(b, "no")), printable(field(b, "participant")), printable(field(b, "status")),
                        printable(field(b, "last_outcome")), printable(field(b, "attempt_count")),
                        printable(field(b, "last_http_status")), printable(field(b, "last_error"))});
  }
  out += "\nBranches:\n" +
         render_table({"NO", "PARTICIPANT", "STATUS", "LAST OUTCOME", "ATTEMPTS", "HTTP", "LAST ERROR"}, branches);
  std::vector<std::vector<std::string>> attempts;
  for (const auto& a : field(txn, "attempts").is_array() ? field(txn, "attempts") : nlohmann::json::array()) {
    attempts.push_back({printable(field(a, "id")), printable(field(a, "started_at")), printable(field(a, "action")),
                        printable(field(a, "branch")), printable(field(a, "outcome")),
                        printable(field(a, "http_status")), printable(field(a, "replica")),
                        printable(field(a, "error"))});
  }
  out += "\nAttempts:\n" +
         render_table({"ID", "STARTED", "ACTION", "BRANCH", "OUTCOME", "HTTP", "REPLICA", "ERROR"}, attempts);
  const auto next = field(txn, "attempts_next_after");
  if (next.is_number()) out += fmt::format("(more: --attempts-after {})\n", next.get<long long>());
  std::vector<std::vector<std::string>> actions;
  for (const auto& a : field(txn, "admin_actions").is_array() ? field(txn, "admin_actions") : nlohmann::json::array()) {
    actions.push_back({printable(field(a, "at")), printable(field(a, "action")), printable(field(a, "actor")),
                       printable(field(field(a, "before"), "status")), printable(field(field(a, "after"), "status")),
                       printable(field(a, "reason"))});
  }
  out += "\nAdmin actions:\n" + render_table({"AT", "ACTION", "ACTOR", "BEFORE", "AFTER", "REASON"}, actions);
  return out;
}

std::string render_action(const nlohmann::json& answer) {
  std::string out = fmt::format("{}: {}, now {}", printable(field(answer, "xid"), 300),
                                printable(field(answer, "outcome")), printable(field(answer, "status")));
  if (field(answer, "decision").is_string()) out += fmt::format(" (decision {})", printable(field(answer, "decision")));
  return out + "\n";
}

std::string render_retry_matching(const nlohmann::json& answer) {
  const bool dry_run = field(answer, "dry_run") != false;
  std::vector<std::vector<std::string>> rows;
  for (const auto& t :
       field(answer, "transactions").is_array() ? field(answer, "transactions") : nlohmann::json::array()) {
    rows.push_back({printable(field(t, "xid"), 300), printable(field(t, "status")),
                    dry_run ? "would retry" : printable(field(t, "outcome"))});
  }
  std::string out = render_table({"XID", "STATUS", "OUTCOME"}, rows);
  if (dry_run) {
    out += fmt::format("dry run: {} transactions would be retried; add --apply --reason '...' to retry them\n",
                       rows.size());
  } else {
    out += fmt::format("{} of {} transactions retried\n", printable(field(answer, "retried")), rows.size());
  }
  const auto next = field(answer, "next_after");
  if (next.is_string()) out += fmt::format("(more match: run again, or --after '{}')\n", printable(next, 300));
  return out;
}

CLI::App& add_admin_command(CLI::App& app, AdminOptions& o) {
  CLI::App* admin =
      app.add_subcommand("admin",
                         "Operate on transactions through a replica's /v1 API: list, show, retry, retry-matching, "
                         "decide, abandon. The token comes from "
                         "COMPENSATORD_TOKEN or --token-file (never a flag: command lines are visible to every user).");
  admin->require_subcommand(1);
  admin->add_option("--url", o.url, "The API of any replica")->envname("COMPENSATORD_URL")->capture_default_str();
  admin->add_option("--token-file", o.token_file, "File holding the API token (scope read; admin to act)");
  admin->add_option("--ca-file", o.ca_file, "PEM certificate authorities to verify an https:// API with")
      ->envname("COMPENSATORD_CA_FILE");
  admin->add_flag("--json", o.json, "Print the API's JSON instead of a table");
  admin->footer(
      "Exit codes: 0 ok, 1 no answer or the API failed, 2 bad usage or request refused (400), 3 no such "
      "transaction, 4 refused as things stand (finished, in flight, already decided), 5 no valid token or scope.");

  CLI::App* list = admin->add_subcommand("list", "Transactions in xid order, a page at a time");
  list->add_option("--status", o.status,
                   "PENDING, COMMITTED, CONFIRMING, CANCELLING, CONFIRMED, CANCELLED, PARKED or ABANDONED");
  list->add_option("--kind", o.kind, "Only this kind");
  list->add_option("--participant", o.participant, "Only those with a branch of this participant");
  list->add_option("--source", o.source, "Only this source (pending_log, kafka:<topic>, legacy:<name>)");
  list->add_option("--older-than", o.older_than, "Only those created at least this long ago (90s, 15m, 2h, 7d)");
  list->add_option("--limit", o.limit, "Rows per page, 1 to 1000 (default 100)");
  list->add_option("--after", o.after, "Start after this xid (the previous page's last)");
  list->add_flag("--all", o.all_pages, "Follow every page");

  CLI::App* show = admin->add_subcommand("show", "One transaction: branches, attempts, admin actions");
  show->add_option("xid", o.xid, "The transaction")->required();
  show->add_option("--attempts-after", o.attempts_after, "Attempts after this id (the previous page's last)");
  show->add_option("--attempts-limit", o.attempts_limit, "Attempts per page, 1 to 1000 (default 100)");

  CLI::App* retry = admin->add_subcommand("retry", "Make a parked, abandoned or backing-off transaction due now");
  retry->add_option("xid", o.xid, "The transaction")->required();
  retry->add_option("--reason", o.reason, "Why, for the audit");

  CLI::App* retry_matching = admin->add_subcommand(
      "retry-matching",
      "Retry one page of the transactions a filter matches (at most --limit, 1000); a dry run unless --apply");
  retry_matching->add_option("--status", o.status, "Required: PARKED, ABANDONED or another unfinished status")
      ->required();
  retry_matching->add_option("--kind", o.kind, "Only this kind");
  retry_matching->add_option("--participant", o.participant, "Only those with a branch of this participant");
  retry_matching->add_option("--source", o.source, "Only this source (pending_log, kafka:<topic>, legacy:<name>)");
  retry_matching->add_option("--older-than", o.older_than, "Only those created at least this long ago");
  retry_matching->add_option("--limit", o.limit, "At most this many, 1 to 1000 (default 100)");
  retry_matching->add_option("--after", o.after, "Start after this xid");
  retry_matching->add_flag("--apply", o.apply, "Retry them (else only show what would be retried)");
  retry_matching->add_option("--reason", o.reason, "Why, for the audit (required with --apply)");

  CLI::App* decide = admin->add_subcommand("decide", "Decide a transaction that has no decision yet");
  decide->add_option("xid", o.xid, "The transaction")->required();
  decide->add_option("--decision", o.decision, "confirm or cancel")
      ->required()
      ->check(CLI::IsMember({"confirm", "cancel"}));
  decide->add_option("--reason", o.reason, "Why, for the audit")->required();

  CLI::App* abandon = admin->add_subcommand("abandon", "Stop all work on a transaction: a human finishes it");
  abandon->add_option("xid", o.xid, "The transaction")->required();
  abandon->add_option("--reason", o.reason, "Who took it over and why, for the audit")->required();

  for (CLI::App* command : {list, show, retry, retry_matching, decide, abandon}) {
    command->callback([&o, command] { o.command = command->get_name(); });
  }
  return *admin;
}

int run_admin(const AdminOptions& options, std::ostream& out, std::ostream& err) {
  std::string token;
  try {
    token = read_token(options);
  } catch (const std::exception& e) {
    err << "compensatord admin: " << e.what() << "\n";
    return kExitUsage;
  }
  auto transport =
      adapters::make_curl_transport({.verify_tls = true, .ca_file = options.ca_file, .kept_connections = 1});
  AdminClient client(options.url, std::move(token), *transport, options.timeout);
  const auto answer = call(options, client);
  const int code = exit_code_for(answer);
  if (code != kExitOk) {
    report_failure(answer, err);
    return code;
  }
  if (!answer.body.is_object()) {
    err << "compensatord admin: the API answered " << answer.status << " without a JSON object\n";
    return kExitUnavailable;
  }
  out << render(options, answer.body);
  return kExitOk;
}

}  // namespace compensatord::admin
