// The catalogue's pure rules: classification levels, the resource-code rule,
// metadata checks, Chinese search terms (unigrams + bigrams), masking.
#include <gtest/gtest.h>

#include "catalogue/base.h"
#include "catalogue/model.h"
#include "catalogue_test_support.h"

namespace {

using namespace tongban::catalogue;
using catalogue_test::PlainResource;

TEST(CatalogueModel, ClassificationLevelsFollowTheCodeLengths) {
  EXPECT_EQ(ClassificationLevel("1"), 1);
  EXPECT_EQ(ClassificationLevel("101"), 2);
  EXPECT_EQ(ClassificationLevel("101001"), 3);
  EXPECT_EQ(ClassificationLevel("1010010"), 4);
  EXPECT_EQ(ClassificationLevel("101001000001"), 4);
  EXPECT_EQ(ClassificationLevel("10"), 0);
  EXPECT_EQ(ClassificationLevel("1010"), 0);
  EXPECT_EQ(ClassificationLevel("0"), 0);
  EXPECT_EQ(ClassificationLevel("1a1"), 0);
  EXPECT_EQ(ClassificationLevel("1010010000011"), 0);
  EXPECT_EQ(ClassificationParent("101001"), "101");
  EXPECT_EQ(ClassificationParent("10100102"), "101001");
  EXPECT_EQ(ClassificationParent("1"), "");
}

TEST(CatalogueModel, ResourceCodesAreClassificationSlashSequence) {
  EXPECT_TRUE(IsValidResourceCode("101001/000001"));
  EXPECT_TRUE(IsValidResourceCode("1/1"));
  EXPECT_FALSE(IsValidResourceCode("101001000001"));
  EXPECT_FALSE(IsValidResourceCode("1010/000001"));
  EXPECT_FALSE(IsValidResourceCode("101001/"));
  EXPECT_FALSE(IsValidResourceCode("101001/00000000001"));
  EXPECT_FALSE(IsValidResourceCode("101001/00a001"));
}

TEST(CatalogueModel, MetadataChecksNameTheWrongField) {
  Resource r = PlainResource("社会组织登记信息", "摘要");
  EXPECT_TRUE(ValidateResource(r).ok());
  Resource bad = r;
  bad.items.push_back({"org_name", "重复", "C"});
  EXPECT_NE(ValidateResource(bad).error().message.find("重复"), std::string::npos);
  bad = r;
  bad.items[0].type = "X";
  EXPECT_NE(ValidateResource(bad).error().message.find("类型"), std::string::npos);
  bad = r;
  bad.share_type = ShareType::kConditional;
  EXPECT_NE(ValidateResource(bad).error().message.find("共享条件"), std::string::npos);
  bad = r;
  bad.release_date = "2026-02-30";
  EXPECT_FALSE(ValidateResource(bad).ok());
  bad = r;
  bad.related_codes = {"nope"};
  EXPECT_FALSE(ValidateResource(bad).ok());
  bad = r;
  bad.classification = "1010";
  EXPECT_FALSE(ValidateResource(bad).ok());
  bad = r;
  bad.items[0].code = "Org";
  EXPECT_FALSE(ValidateResource(bad).ok());
}

TEST(CatalogueModel, IndexTermsAreCjkUnigramsAndBigramsAndAsciiWords) {
  EXPECT_EQ(IndexTerms("人口信息 API2"),
            (std::vector<std::string>{"人", "人口", "口", "口信", "信", "信息", "息", "api2"}));
  // Punctuation separates runs: no bigram across it.
  EXPECT_EQ(IndexTerms("人，口"), (std::vector<std::string>{"人", "口"}));
  EXPECT_TRUE(IndexTerms("\xff\xfe").empty());  // not UTF-8
}

TEST(CatalogueModel, QueryTermsUseBigramsForWordsAndTheCharacterAlone) {
  EXPECT_EQ(QueryTerms("人口信息"), (std::vector<std::string>{"人口", "口信", "信息"}));
  EXPECT_EQ(QueryTerms("人"), (std::vector<std::string>{"人"}));
  EXPECT_EQ(QueryTerms("GIS 地图"), (std::vector<std::string>{"gis", "地图"}));
  EXPECT_TRUE(QueryTerms("，。！").empty());
}

TEST(CatalogueModel, MasksKeepOnlyTheEnds) {
  EXPECT_EQ(MaskIdNumber("11010519491231002X"), "110105********002X");
  EXPECT_EQ(MaskMobile("13800138000"), "138****8000");
  EXPECT_EQ(MaskMobile("12345"), "*****");
}

TEST(CatalogueModel, BaseResourcesListTheirKeyFirst) {
  EXPECT_EQ(BaseFields(BaseKind::kPerson).front().code, "id_number");
  EXPECT_EQ(BaseFields(BaseKind::kLegalPerson).front().code, "uscc");
  EXPECT_EQ(BaseFields(BaseKind::kPlace).front().code, "division_code");
  EXPECT_TRUE(BaseFields(BaseKind::kNone).empty());
}

}  // namespace
