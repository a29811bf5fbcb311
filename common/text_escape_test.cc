#include "common/text_escape.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ad {
namespace {

TEST(BoundedEchoTest, RepeatsShortInputWhole) {
  EXPECT_EQ(BoundedEcho("darkroom/goal=3,7"), "darkroom/goal=3,7");
}

TEST(BoundedEchoTest, CutsLongInputToAPrefixAndItsSize) {
  const std::string id(10240, 'x');
  const std::string echo = BoundedEcho(id);
  EXPECT_EQ(echo, std::string(kEchoPrefixBytes, 'x') + "...(10240 bytes)");
}

TEST(BoundedEchoTest, EscapesControlBytesSoTheMessageStaysOneLine) {
  const std::string echo = BoundedEcho(std::string("a\nb\0c\"", 6));
  EXPECT_EQ(echo.find('\n'), std::string::npos);
  EXPECT_EQ(echo.find('\0'), std::string::npos);
  EXPECT_EQ(echo.substr(0, 4), "a\\nb");
  // Even the worst case stays bounded.
  EXPECT_LE(BoundedEcho(std::string(100000, '\x01')).size(),
            4 * kEchoPrefixBytes + 32);
}

// Splits one RFC 4180 record; the reference reader for the tests.
std::vector<std::string> ParseCsvRecord(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

TEST(CsvFieldTest, LeavesPlainFieldsAlone) {
  EXPECT_EQ(CsvField("run/h0"), "run/h0");
  EXPECT_EQ(CsvField(""), "");
}

TEST(CsvFieldTest, QuotesCommasQuotesAndLineBreaksAndRoundTrips) {
  const std::vector<std::string> values = {"a,b",  "say \"hi\"", "x\ny",
                                           "cr\r", "\",\n\"",    "plain"};
  std::string line;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) line += ',';
    line += CsvField(values[i]);
  }
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(ParseCsvRecord(line), values);
}

}  // namespace
}  // namespace ad
