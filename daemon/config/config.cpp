#include "config/config.hpp"

#include "adapters/participant.hpp"
#include "adapters/participant_spec.hpp"
#include "check/check.hpp"
#include "check/check_spec.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>

namespace compensatord::config {
namespace {

using namespace std::chrono_literals;

// A config is a few kilobytes; anything this large is a mistake (or an attack on the parser).
constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;
// Keeps now() + any configured duration far away from the clock's range.
constexpr milliseconds kMaxDuration = std::chrono::hours(24 * 3650);
constexpr milliseconds kMaxSessionTimeout = std::chrono::hours(24);
constexpr std::size_t kMaxNameLength = 64;
// What reconciler.lease must leave beyond the longest check, slot wait and call.
constexpr milliseconds kLeaseMargin = 1s;
constexpr std::size_t kMaxReplicaIdLength = 128;
// A finished transaction must outlive the late arrivals of its own sources: a delayed check
// message or a legacy log row read again after its row was deleted would be ingested as a new
// transaction and reconciled a second time.
constexpr milliseconds kMinRetention = 1h;
constexpr milliseconds kMaxRetentionPause = 1min;
constexpr std::array<std::string_view, 5> kLogLevels{"trace", "debug", "info", "warn", "error"};

// A section that is present must be a map; reading keys of a scalar would only produce
// misleading "required key is missing" errors.
bool is_section(const Reader& reader) {
  if (!reader.present()) return false;
  if (!reader.is_map()) {
    reader.error("expected a map");
    return false;
  }
  return true;
}

// YAML keeps a duplicated key twice and lookups see only the first: the second would be ignored silently.
void reject_duplicate_keys(const Reader& reader) {
  std::set<std::string> seen;
  for (const auto& key : reader.keys()) {
    if (!seen.insert(key).second) reader.child(key).error(fmt::format("duplicate key '{}'", key));
  }
}

// The line of `key` in the map at `parent`, 0 when the key is absent. A key without a value
// ("database:" then nothing) has a null node whose mark points past it, at the next line.
int key_line(const Reader& parent, std::string_view key) {
  if (!parent.is_map()) return 0;
  for (const auto& kv : parent.node()) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.first.Mark().line + 1;
  }
  return 0;
}

// Reports a section that is required but absent or empty, at its key's line.
void missing_section(const Reader& parent, std::string_view key, std::string message) {
  Reader section = parent.child(key);
  parent.errors().add(section.path(), key_line(parent, key), std::move(message));
}

bool is_name_char(unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; }

// Kind and source names end up in table rows, metric labels and log lines.
bool valid_name(const Reader& at, std::string_view what, const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || !std::all_of(name.begin(), name.end(), is_name_char)) {
    at.error(fmt::format("{} '{}' must be 1 to {} characters of letters, digits, '_', '-' or '.'", what,
                         name.substr(0, kMaxNameLength), kMaxNameLength));
    return false;
  }
  return true;
}

// A positive duration at `key`, at most `max` (written `max_shown` in the error).
void read_bounded_duration(const Reader& parent, std::string_view key, milliseconds max, std::string_view max_shown,
                           milliseconds& out) {
  auto value = parent.duration(key);
  if (!value) return;
  if (*value <= 0ms || *value > max) {
    parent.child(key).error(fmt::format("must be positive and at most {}, got {}", max_shown, *value));
    return;
  }
  out = *value;
}

void read_duration(const Reader& parent, std::string_view key, milliseconds& out) {
  read_bounded_duration(parent, key, kMaxDuration, "3650d", out);
}

// A PostgreSQL session timeout (statement_timeout, lock_timeout): the server takes at most
// INT_MAX milliseconds, and a wait of a day is already a stuck worker (or a stuck legacy poll).
void read_session_timeout(const Reader& parent, std::string_view key, milliseconds& out) {
  read_bounded_duration(parent, key, kMaxSessionTimeout, "1d", out);
}

template <typename Int>
void read_integer(const Reader& parent, std::string_view key, std::int64_t min, std::int64_t max, Int& out) {
  if (auto value = parent.integer(key, min, max)) out = static_cast<Int>(*value);
}

void read_number(const Reader& parent, std::string_view key, double min, double max, double& out) {
  if (auto value = parent.number(key, min, max)) out = *value;
}

std::string default_replica_id() {
  std::array<char, 256> host{};
  const bool named = gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0';
  return fmt::format("{}-{}", named ? host.data() : "compensatord", getpid());
}

std::string read_replica_id(const Reader& root) {
  auto id = root.string("replica_id");
  if (!id || id->empty()) return default_replica_id();
  bool printable = std::all_of(id->begin(), id->end(), [](unsigned char c) { return std::isgraph(c); });
  if (id->size() > kMaxReplicaIdLength || !printable) {
    root.child("replica_id")
        .error(fmt::format("must be at most {} printable characters without spaces", kMaxReplicaIdLength));
  }
  return *id;
}

DatabaseConfig read_database(const Reader& root) {
  DatabaseConfig database;
  Reader section = root.child("database");
  if (!section.present()) {
    missing_section(root, "database", "required section is missing (database.dsn is compensatord's state)");
    return database;
  }
  if (!is_section(section)) return database;
  section.reject_unknown_keys({"dsn", "connect_timeout", "statement_timeout", "lock_timeout"});
  if (auto dsn = section.string("dsn", true)) {
    if (dsn->empty()) section.child("dsn").error("must not be empty");
    database.dsn = *dsn;
  }
  read_duration(section, "connect_timeout", database.connect_timeout);
  read_session_timeout(section, "statement_timeout", database.statement_timeout);
  read_session_timeout(section, "lock_timeout", database.lock_timeout);
  // A lock wait longer than the statement would be cut by statement_timeout anyway.
  if (database.lock_timeout > database.statement_timeout) {
    Reader at =
        section.child("lock_timeout").present() ? section.child("lock_timeout") : section.child("statement_timeout");
    at.error(fmt::format("lock_timeout ({}) must not be larger than statement_timeout ({})", database.lock_timeout,
                         database.statement_timeout));
  }
  return database;
}

ReconcilerConfig read_reconciler(const Reader& root) {
  ReconcilerConfig reconciler;
  Reader section = root.child("reconciler");
  if (!is_section(section)) return reconciler;
  section.reject_unknown_keys({"batch_size", "workers", "poll_interval", "lease", "shutdown_grace", "stall_timeout"});
  read_integer(section, "batch_size", 1, 10000, reconciler.batch_size);
  read_integer(section, "workers", 1, 1024, reconciler.workers);
  read_duration(section, "poll_interval", reconciler.poll_interval);
  read_duration(section, "lease", reconciler.lease);
  read_duration(section, "shutdown_grace", reconciler.shutdown_grace);
  read_duration(section, "stall_timeout", reconciler.stall_timeout);
  return reconciler;
}

// Reads the keys present in `section` over `base`: the top-level retry over the defaults,
// a kind's retry over the top-level one.
RetryPolicy read_retry(const Reader& section, RetryPolicy base) {
  if (!is_section(section)) return base;
  section.reject_unknown_keys({"initial_backoff", "max_backoff", "multiplier", "jitter", "max_attempts", "max_age"});
  read_duration(section, "initial_backoff", base.initial_backoff);
  read_duration(section, "max_backoff", base.max_backoff);
  read_number(section, "multiplier", 1.0, 100.0, base.multiplier);
  read_number(section, "jitter", 0.0, 1.0, base.jitter);
  read_integer(section, "max_attempts", 1, 1'000'000, base.max_attempts);
  read_duration(section, "max_age", base.max_age);
  if (base.initial_backoff > base.max_backoff) {
    Reader at =
        section.child("initial_backoff").present() ? section.child("initial_backoff") : section.child("max_backoff");
    at.error(fmt::format("initial_backoff ({}) must not be larger than max_backoff ({})", base.initial_backoff,
                         base.max_backoff));
  }
  return base;
}

// "host:port" or "[v6]:port"; the daemon binds it, so a typo must fail at start.
bool valid_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return false;
  std::string_view port = std::string_view(listen).substr(colon + 1);
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  int number = std::stoi(std::string(port));
  return number >= 1 && number <= 65535;
}

// A bearer token is sent in a header: printable ASCII without spaces, long enough not to be guessed.
constexpr std::size_t kMinTokenBytes = 16;
constexpr std::size_t kMaxTokenBytes = 4096;

std::optional<std::string> problem_with_secret(const std::string& secret) {
  if (secret.size() < kMinTokenBytes) {
    return fmt::format("a token must be at least {} characters, got {}", kMinTokenBytes, secret.size());
  }
  if (secret.size() > kMaxTokenBytes) return fmt::format("a token must be at most {} characters", kMaxTokenBytes);
  if (!std::all_of(secret.begin(), secret.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; })) {
    return "a token must be printable ASCII without spaces";
  }
  return std::nullopt;
}

// The token of `token_file`: its content without trailing line breaks (as a mounted Secret has).
std::optional<std::string> read_token_file(const Reader& entry, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    entry.child("token_file").error(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
    return std::nullopt;
  }
  std::string secret(kMaxTokenBytes + 2, '\0');
  file.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  secret.resize(static_cast<std::size_t>(file.gcount()));
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

std::optional<http::ApiToken> read_api_token(const Reader& entry) {
  if (!entry.is_map()) {
    entry.error("expected a map with name, scope and token or token_file");
    return std::nullopt;
  }
  entry.reject_unknown_keys({"name", "scope", "token", "token_file"});
  http::ApiToken token;
  const auto name = entry.string("name", true);
  if (name && (name->empty() || name->size() > 64 || !std::all_of(name->begin(), name->end(), [](unsigned char c) {
                 return std::isalnum(c) || c == '-' || c == '_' || c == '.';
               }))) {
    entry.child("name").error("expected 1 to 64 characters of letters, digits, '-', '_' or '.'");
  }
  token.name = name.value_or("");
  if (const auto scope = entry.string("scope", true)) {
    if (*scope == "read") {
      token.scope = http::ApiScope::Read;
    } else if (*scope == "admin") {
      token.scope = http::ApiScope::Admin;
    } else {
      entry.child("scope").error(fmt::format("expected read or admin, got '{}'", *scope));
    }
  }
  const auto inline_secret = entry.string("token");
  const auto file = entry.string("token_file");
  if (inline_secret.has_value() == file.has_value()) {
    entry.error("set exactly one of token (e.g. ${API_TOKEN}) and token_file");
    return std::nullopt;
  }
  const auto secret = inline_secret ? inline_secret : read_token_file(entry, *file);
  if (!secret) return std::nullopt;
  if (auto problem = problem_with_secret(*secret)) {
    entry.child(inline_secret ? "token" : "token_file").error(*problem);
    return std::nullopt;
  }
  token.secret = *secret;
  return token;
}

std::vector<http::ApiToken> read_api_tokens(const Reader& section) {
  std::vector<http::ApiToken> tokens;
  const Reader list = section.child("tokens");
  if (!list.present()) return tokens;
  if (!list.is_sequence()) {
    list.error("expected a list of tokens");
    return tokens;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Reader entry = list.item(i);
    auto token = read_api_token(entry);
    if (!token) continue;
    for (const auto& earlier : tokens) {
      if (earlier.name == token->name)
        entry.child("name").error(fmt::format("token name '{}' is given twice", earlier.name));
      if (earlier.secret == token->secret) entry.error(fmt::format("the same token as '{}'", earlier.name));
    }
    tokens.push_back(std::move(*token));
  }
  return tokens;
}

// `http.tls`: both files, or no section at all (plain HTTP).
std::optional<http::ApiTls> read_api_tls(const Reader& http) {
  Reader section = http.child("tls");
  if (!is_section(section)) return std::nullopt;
  section.reject_unknown_keys({"cert_file", "key_file", "reload_interval"});
  http::ApiTls tls;
  if (auto cert = section.string("cert_file", true)) tls.cert_file = *cert;
  if (auto key = section.string("key_file", true)) tls.key_file = *key;
  read_duration(section, "reload_interval", tls.reload_interval);
  return tls;
}

HttpConfig read_http(const Reader& root) {
  HttpConfig http;
  Reader section = root.child("http");
  if (!is_section(section)) return http;
  section.reject_unknown_keys({"listen", "tokens", "tls"});
  if (auto listen = section.string("listen"); listen && *listen == "off") {
    http.listen.reset();
  } else if (listen) {
    if (!valid_listen(*listen)) {
      section.child("listen").error(fmt::format("expected host:port like 0.0.0.0:8080 (or off), got '{}'", *listen));
    }
    http.listen = *listen;
  }
  http.tokens = read_api_tokens(section);
  http.tls = read_api_tls(section);
  return http;
}

MetricsConfig read_metrics(const Reader& root) {
  MetricsConfig metrics;
  Reader section = root.child("metrics");
  if (!is_section(section)) return metrics;
  section.reject_unknown_keys({"listen", "refresh_interval"});
  if (auto listen = section.string("listen")) {
    if (!valid_listen(*listen)) {
      section.child("listen").error(fmt::format("expected host:port like 0.0.0.0:9464, got '{}'", *listen));
    }
    metrics.listen = *listen;
  }
  read_duration(section, "refresh_interval", metrics.refresh_interval);
  return metrics;
}

LoggingConfig read_logging(const Reader& root) {
  LoggingConfig logging;
  Reader section = root.child("logging");
  if (!is_section(section)) return logging;
  section.reject_unknown_keys({"level", "format"});
  if (auto format = section.string("format")) {
    if (*format != "json" && *format != "text") {
      section.child("format").error(fmt::format("must be json or text, got '{}'", *format));
    }
    logging.format = *format;
  }
  if (auto level = section.string("level")) {
    if (std::find(kLogLevels.begin(), kLogLevels.end(), *level) == kLogLevels.end()) {
      section.child("level").error(fmt::format("must be one of trace, debug, info, warn, error, got '{}'", *level));
    }
    logging.level = *level;
  }
  return logging;
}

// A retention limit: a duration of at least kMinRetention, or `off` (nullopt: kept for ever).
void read_retention_limit(const Reader& section, std::string_view key, std::optional<milliseconds>& out) {
  auto text = section.string(key);
  if (!text) return;
  if (*text == "off") {
    out.reset();
    return;
  }
  auto value = parse_duration(*text);
  if (!value) {
    section.child(key).error(fmt::format("expected a duration like 30d, or off, got '{}'", *text));
    return;
  }
  if (*value < kMinRetention || *value > kMaxDuration) {
    section.child(key).error(fmt::format("must be at least 1h and at most 3650d (or off), got {}", *value));
    return;
  }
  out = *value;
}

RetentionConfig read_retention(const Reader& root) {
  RetentionConfig retention;
  Reader section = root.child("retention");
  if (!is_section(section)) return retention;
  section.reject_unknown_keys({"finished_after", "parked_after", "interval", "batch_size", "pause"});
  read_retention_limit(section, "finished_after", retention.finished_after);
  read_retention_limit(section, "parked_after", retention.parked_after);
  read_duration(section, "interval", retention.interval);
  read_integer(section, "batch_size", 1, 10000, retention.batch_size);
  read_bounded_duration(section, "pause", kMaxRetentionPause, "1m", retention.pause);
  return retention;
}

KindConfig read_kind(const Reader& kind, const std::string& name, const RetryPolicy& top_level_retry) {
  KindConfig config;
  config.name = name;
  config.retry = top_level_retry;
  if (!is_section(kind)) return config;
  kind.reject_unknown_keys({"timeout", "check", "retry"});
  read_duration(kind, "timeout", config.timeout);
  Reader check = kind.child("check");
  if (check.present()) {
    config.check = check::parse_check(check);
  } else {
    check.error("required key is missing: every kind needs a check (sql or http)");
  }
  config.retry = read_retry(kind.child("retry"), top_level_retry);
  return config;
}

std::map<std::string, KindConfig> read_kinds(const Reader& root, const RetryPolicy& top_level_retry) {
  std::map<std::string, KindConfig> kinds;
  Reader section = root.child("kinds");
  if (!section.present() || (section.is_map() && section.size() == 0)) {
    missing_section(root, "kinds", "at least one kind is required");
    return kinds;
  }
  if (!is_section(section)) return kinds;
  reject_duplicate_keys(section);
  for (const auto& name : section.keys()) {
    Reader kind = section.child(name);
    if (!kind.present()) missing_section(section, name, "expected a map with a check");
    if (valid_name(kind, "kind", name)) kinds.emplace(name, read_kind(kind, name, top_level_retry));
  }
  return kinds;
}

std::map<std::string, std::shared_ptr<const adapters::ParticipantSpec>> read_participants(const Reader& root) {
  Reader section = root.child("participants");
  if (!section.present() || (section.is_map() && section.size() == 0)) {
    missing_section(root, "participants", "at least one participant is required");
    return {};
  }
  if (!is_section(section)) return {};
  return adapters::parse_participants(section);
}

// Names are checked against the document's keys, not the parsed maps, so a participant with
// a bad field is not reported a second time as unknown.
std::set<std::string> declared_names(const Reader& section) {
  std::set<std::string> names;
  if (section.is_map()) {
    for (auto& key : section.keys()) names.insert(std::move(key));
  }
  return names;
}

bool mentions_parameter(const std::string& query) {
  for (std::size_t i = 0; i + 1 < query.size(); ++i) {
    if (query[i] == '$' && std::isdigit(static_cast<unsigned char>(query[i + 1]))) return true;
  }
  return false;
}

std::optional<BranchMapping> read_branch_mapping(const Reader& branch, const std::set<std::string>& participants) {
  if (!is_section(branch)) {
    if (!branch.present()) branch.error("expected a map with participant and fields");
    return std::nullopt;
  }
  branch.reject_unknown_keys({"participant", "fields"});
  BranchMapping mapping;
  if (auto participant = branch.string("participant", true)) {
    if (!participants.contains(*participant)) {
      branch.child("participant").error(fmt::format("unknown participant '{}'", *participant));
    }
    mapping.participant = *participant;
  }
  Reader fields = branch.child("fields");
  if (!fields.present() || (fields.is_map() && fields.size() == 0)) {
    fields.error("required: a map of branch field to result column");
    return mapping;
  }
  mapping.fields = branch.string_map("fields");
  for (const auto& [field, column] : mapping.fields) {
    if (field.empty()) fields.error("branch field names must not be empty");
    if (column.empty()) fields.child(field).error("result column must not be empty");
  }
  return mapping;
}

std::vector<BranchMapping> read_branch_mappings(const Reader& source, const std::set<std::string>& participants) {
  std::vector<BranchMapping> mappings;
  Reader branches = source.child("branches");
  if (!branches.present() || (branches.is_sequence() && branches.size() == 0)) {
    branches.error("at least one branch mapping is required");
    return mappings;
  }
  if (!branches.is_sequence()) {
    branches.error("expected a list of {participant, fields}");
    return mappings;
  }
  for (std::size_t i = 0; i < branches.size(); ++i) {
    if (auto mapping = read_branch_mapping(branches.item(i), participants)) mappings.push_back(std::move(*mapping));
  }
  return mappings;
}

struct KnownNames {
  std::set<std::string> kinds;
  std::set<std::string> participants;
};

std::optional<LegacyLogSource> read_legacy_log(const Reader& source, const KnownNames& known) {
  if (!is_section(source)) {
    if (!source.present()) source.error("expected a map with name, dsn, query, kind and branches");
    return std::nullopt;
  }
  source.reject_unknown_keys({"name", "dsn", "query", "kind", "interval", "statement_timeout", "branches"});
  LegacyLogSource legacy;
  if (auto name = source.string("name", true); name && valid_name(source.child("name"), "source", *name)) {
    legacy.name = *name;
  }
  if (auto dsn = source.string("dsn", true)) {
    if (dsn->empty()) source.child("dsn").error("must not be empty");
    legacy.dsn = *dsn;
  }
  if (auto query = source.string("query", true)) {
    Reader at = source.child("query");
    if (std::all_of(query->begin(), query->end(), [](unsigned char c) { return std::isspace(c); })) {
      at.error("must not be empty");
    } else if (mentions_parameter(*query)) {
      at.error("must not use parameters like $1: a legacy log query runs without arguments");
    }
    legacy.query = *query;
  }
  if (auto kind = source.string("kind", true)) {
    if (!known.kinds.contains(*kind)) source.child("kind").error(fmt::format("unknown kind '{}'", *kind));
    legacy.kind = *kind;
  }
  read_duration(source, "interval", legacy.interval);
  read_session_timeout(source, "statement_timeout", legacy.statement_timeout);
  legacy.branches = read_branch_mappings(source, known.participants);
  return legacy;
}

std::vector<LegacyLogSource> read_legacy_logs(const Reader& sources, const KnownNames& known) {
  std::vector<LegacyLogSource> legacy_logs;
  Reader list = sources.child("legacy_logs");
  if (!list.present()) return legacy_logs;
  if (!list.is_sequence()) {
    list.error("expected a list of legacy log sources");
    return legacy_logs;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    Reader item = list.item(i);
    auto legacy = read_legacy_log(item, known);
    if (!legacy) continue;
    if (!legacy->name.empty() && !names.insert(legacy->name).second) {
      item.child("name").error(fmt::format("duplicate legacy log name '{}'", legacy->name));
    }
    legacy_logs.push_back(std::move(*legacy));
  }
  return legacy_logs;
}

void read_sources(const Reader& root, const KnownNames& known, DaemonConfig& config) {
  Reader sources = root.child("sources");
  if (!is_section(sources)) return;
  sources.reject_unknown_keys({"legacy_logs", "kafka"});
  config.legacy_logs = read_legacy_logs(sources, known);
  Reader kafka = sources.child("kafka");
  if (kafka.present()) config.kafka = kafka::parse_kafka_source(kafka);
}

// A claim must outlast the longest reconcile it may start: a check, then a wait for a free
// max_in_flight slot, then a call, each as long as its timeout. Renewals keep a live replica's
// lease; this bound makes sure a replica that cannot renew stops starting work before another
// replica may take it over.
void require_lease_outlasts_work(const Reader& root, const DaemonConfig& config) {
  std::string slowest = "no participant";
  milliseconds call{0};
  for (const auto& [name, spec] : config.participants) {
    if (spec && spec->timeout > call) {
      slowest = fmt::format("participants.{}.timeout", name);
      call = spec->timeout;
    }
  }
  for (const auto& [name, kind] : config.kinds) {
    if (!kind.check) continue;
    const milliseconds needed = kind.check->timeout() + 2 * call + kLeaseMargin;
    if (config.reconciler.lease >= needed) continue;
    root.child("reconciler")
        .child("lease")
        .error(fmt::format(
            "the lease ({}) must be at least {}: the check timeout of kind {} ({}) + 2 x {} ({}) + a margin "
            "of {}, so that a check, a wait for a free slot and a call all end before another replica may "
            "take the work over",
            config.reconciler.lease, needed, name, kind.check->timeout(), slowest, call, kLeaseMargin));
    return;
  }
}

HttpClient read_http_client(const Reader& root, HttpClient fallback) {
  auto name = root.string("http_client");
  if (!name) return fallback;
  if (*name == "curl") return HttpClient::Curl;
  if (*name == "cpprest") return HttpClient::Cpprest;
  root.child("http_client").error(fmt::format("must be curl or cpprest, got '{}'", *name));
  return fallback;
}

DaemonConfig read_config(const Reader& root) {
  DaemonConfig config;
  root.reject_unknown_keys({"replica_id", "verify_tls", "http_client", "database", "reconciler", "retry", "http",
                            "metrics", "logging", "retention", "kinds", "participants", "sources"});
  config.replica_id = read_replica_id(root);
  if (auto verify = root.boolean("verify_tls")) config.verify_tls = *verify;
  config.http_client = read_http_client(root, config.http_client);
  config.database = read_database(root);
  config.reconciler = read_reconciler(root);
  config.retry = read_retry(root.child("retry"), RetryPolicy{});
  config.http = read_http(root);
  config.metrics = read_metrics(root);
  config.logging = read_logging(root);
  config.retention = read_retention(root);
  config.kinds = read_kinds(root, config.retry);
  config.participants = read_participants(root);
  KnownNames known{declared_names(root.child("kinds")), declared_names(root.child("participants"))};
  read_sources(root, known, config);
  require_lease_outlasts_work(root, config);
  return config;
}

LoadResult too_large(std::size_t size) {
  LoadResult result;
  result.errors.add("", 0,
                    fmt::format("the config is {} bytes, more than the limit of {} bytes", size, kMaxConfigBytes));
  return result;
}

}  // namespace

LoadResult load_config_text(const std::string& yaml_text) {
  if (yaml_text.size() > kMaxConfigBytes) return too_large(yaml_text.size());
  LoadResult result;
  YAML::Node document;
  try {
    document = YAML::Load(yaml_text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own message for this is "bad file".
    result.errors.add("", e.mark.line + 1, fmt::format("invalid YAML: nested deeper than {} levels", e.depth()));
    return result;
  } catch (const YAML::Exception& e) {
    result.errors.add("", e.mark.line >= 0 ? e.mark.line + 1 : 0, fmt::format("invalid YAML: {}", e.msg));
    return result;
  }
  Reader root(document, "", result.errors);
  if (!root.is_map()) {
    root.error("expected a map of sections (database, kinds, participants, ...)");
    return result;
  }
  // The parsers report through `errors`; an exception here is a bug in them, but an operator
  // still gets an error instead of a crash.
  try {
    DaemonConfig config = read_config(root);
    if (result.errors.empty()) {
      result.config = std::move(config);
      result.document = document;
    }
  } catch (const std::exception& e) {
    result.errors.add("", 0, fmt::format("unexpected error while reading the config: {}", e.what()));
  }
  return result;
}

milliseconds least_lease(const DaemonConfig& config) {
  milliseconds call{0};
  for (const auto& [name, spec] : config.participants) call = std::max(call, spec->timeout);
  milliseconds check{0};
  for (const auto& [name, kind] : config.kinds) check = std::max(check, kind.check->timeout());
  return check + 2 * call + kLeaseMargin;
}

LoadResult load_config_file(const std::string& path) {
  LoadResult result;
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    result.errors.add("", 0, fmt::format("cannot read config file '{}': {}", path, ec.message()));
    return result;
  }
  if (size > kMaxConfigBytes) return too_large(size);
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) {
    result.errors.add("", 0, fmt::format("cannot open config file '{}': {}", path, std::strerror(errno)));
    return result;
  }
  std::ostringstream text;
  text << file.rdbuf();
  return load_config_text(text.str());
}

}  // namespace compensatord::config
