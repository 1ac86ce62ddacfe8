#include "comm/storage/xml_lite.hpp"

#include <gtest/gtest.h>

namespace xml = hpcless::storage::xml;

TEST(XmlLite, ReadsListingElementsByExactName) {
  const std::string doc =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
      "<NextContinuationToken>abc+/=</NextContinuationToken>"
      "<Contents><Key>a &amp; b</Key><ETag>&quot;e1&quot;</ETag><Size>3</Size></Contents>"
      "<Contents><Key>&#x4e2d;&#25991;</Key><ETag>\"e2\"</ETag><Size>0</Size></Contents>"
      "</ListBucketResult>";
  EXPECT_EQ(xml::root_name(doc), "ListBucketResult");
  EXPECT_EQ(xml::text(doc, "IsTruncated").value(), "true");
  EXPECT_EQ(xml::text(doc, "NextContinuationToken").value(), "abc+/=");
  const auto contents = xml::elements(doc, "Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(xml::text(contents[0], "Key").value(), "a & b");  // <KeyCount> is not <Key>
  EXPECT_EQ(xml::text(contents[0], "ETag").value(), "\"e1\"");
  EXPECT_EQ(xml::text(contents[1], "Key").value(), "\xe4\xb8\xad\xe6\x96\x87");  // 中文
  EXPECT_FALSE(xml::text(doc, "Missing").has_value());
}

TEST(XmlLite, ErrorDocumentsAndSelfClosingTags) {
  const std::string doc =
      "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The key</Message>"
      "<Empty/></Error>";
  EXPECT_EQ(xml::root_name(doc), "Error");
  EXPECT_EQ(xml::text(doc, "Code").value(), "NoSuchKey");
  EXPECT_EQ(xml::text(doc, "Empty").value(), "");
  EXPECT_EQ(xml::root_name("garbage"), "");
}

TEST(XmlLite, EscapeRoundTripsAndBadEntitiesStayLiteral) {
  const std::string s = "<a href=\"x\">'&'</a>";
  EXPECT_EQ(xml::unescape(xml::escape(s)), s);
  EXPECT_EQ(xml::unescape("&bogus; &#xZZ; & &amp"), "&bogus; &#xZZ; & &amp");
  EXPECT_EQ(xml::unescape("&#128512;"), "\xf0\x9f\x98\x80");  // emoji, 4-byte UTF-8
}
