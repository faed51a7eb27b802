#pragma once
// Helpers shared by the adapter tests: YAML in, parsed specs and config errors out.

#include "adapters/participant_spec.hpp"
#include "yaml/reader.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>

namespace compensatord::adapters::testing {

struct ParsedSpec {
  yaml::ConfigErrors errors;
  std::shared_ptr<const ParticipantSpec> spec;
};

// Parses `yaml` (one participant's definition) as participants.stock.
inline std::unique_ptr<ParsedSpec> parse_spec(const std::string& yaml) {
  auto out = std::make_unique<ParsedSpec>();
  yaml::Reader reader(YAML::Load(yaml), "participants.stock", out->errors);
  out->spec = parse_participant_spec(reader);
  return out;
}

// Passes when one error has exactly `path`, `line` and a message containing `text`.
inline ::testing::AssertionResult has_error(const yaml::ConfigErrors& errors, const std::string& path, int line,
                                            const std::string& text) {
  for (const auto& e : errors.all()) {
    if (e.path == path && e.line == line && e.message.find(text) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no error at " << path << " (line " << line << ") containing '" << text
                                       << "'; errors:\n"
                                       << errors.to_string();
}

inline Transaction make_txn(std::string xid) {
  Transaction txn;
  txn.xid = std::move(xid);
  txn.kind = "order";
  return txn;
}

inline Branch make_branch(nlohmann::json fields, int no = 0, std::string participant = "stock") {
  Branch b;
  b.no = no;
  b.participant = std::move(participant);
  b.fields = std::move(fields);
  return b;
}

}  // namespace compensatord::adapters::testing
