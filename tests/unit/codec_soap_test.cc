#include <gtest/gtest.h>

#include <pugixml.hpp>
#include <string>

#include "codec/soap.h"

namespace tongban::codec {
namespace {

// What Axis2's stub (generated from the real WSDL) sends: qualified children.
constexpr std::string_view kQualifiedRequest =
    R"(<?xml version="1.0" encoding="UTF-8"?>)"
    R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">)"
    R"(<soapenv:Header/><soapenv:Body>)"
    R"(<ns:ticketValidation xmlns:ns="http://webservice.api.commnetsoft.com">)"
    R"(<ns:servicecode>app1</ns:servicecode><ns:time>20240102030405</ns:time>)"
    R"(<ns:sign>0123456789abcdef0123456789abcdef</ns:sign>)"
    R"(<ns:st>8afac2ed6069c81501606f571e763a70-ticket</ns:st><ns:datatype>json</ns:datatype>)"
    R"(</ns:ticketValidation></soapenv:Body></soapenv:Envelope>)";

std::vector<SoapParam> TicketParams() {
  return {{"servicecode", "app1"},
          {"time", "20240102030405"},
          {"sign", "0123456789abcdef0123456789abcdef"},
          {"st", "8afac2ed6069c81501606f571e763a70-ticket"},
          {"datatype", "json"}};
}

pugi::xml_node Child(const pugi::xml_node& n, const char* name) { return n.child(name); }

// --- ParseSoapRequest ---

TEST(CodecSoapParseTest, QualifiedChildrenGiveOperationAndOrderedParams) {
  Result<SoapCall> call = ParseSoapRequest(kQualifiedRequest);
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->version, SoapVersion::k11);
  EXPECT_EQ(call->operation, "ticketValidation");
  EXPECT_EQ(call->operation_namespace, kSsoServiceNamespace);
  EXPECT_EQ(call->params, TicketParams());
}

TEST(CodecSoapParseTest, UnqualifiedChildrenParseTheSame) {
  Result<SoapCall> call = ParseSoapRequest(
      R"(<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>)"
      R"(<ticketValidation xmlns="http://webservice.api.commnetsoft.com">)"
      R"(<servicecode xmlns="">app1</servicecode><time xmlns="">20240102030405</time>)"
      R"(<sign>0123456789abcdef0123456789abcdef</sign>)"
      R"(<st>8afac2ed6069c81501606f571e763a70-ticket</st><datatype>json</datatype>)"
      R"(</ticketValidation></S:Body></S:Envelope>)");
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->operation, "ticketValidation");
  EXPECT_EQ(call->operation_namespace, kSsoServiceNamespace);
  EXPECT_EQ(call->params, TicketParams());
}

TEST(CodecSoapParseTest, Soap12EnvelopeIsAcceptedAndReported) {
  Result<SoapCall> call = ParseSoapRequest(
      R"(<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>)"
      R"(<m:getUserInfo xmlns:m="http://webservice.api.commnetsoft.com">)"
      R"(<m:token>tok</m:token></m:getUserInfo></env:Body></env:Envelope>)");
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->version, SoapVersion::k12);
  EXPECT_EQ(call->operation, "getUserInfo");
  EXPECT_EQ(call->params, (std::vector<SoapParam>{{"token", "tok"}}));
}

TEST(CodecSoapParseTest, EscapedXmlInAParameterArrivesAsText) {
  Result<SoapCall> call = ParseSoapRequest(
      R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>)"
      R"(<synchronizeUser><args>&lt;SSO&gt;&lt;username&gt;张三&lt;/username&gt;&lt;/SSO&gt;</args>)"
      R"(<memo><![CDATA[a<b>&]]></memo></synchronizeUser></s:Body></s:Envelope>)");
  ASSERT_TRUE(call.ok()) << call.error().message;
  ASSERT_NE(call->Find("args"), nullptr);
  EXPECT_EQ(*call->Find("args"), "<SSO><username>张三</username></SSO>");
  EXPECT_EQ(*call->Find("memo"), "a<b>&");
}

TEST(CodecSoapParseTest, EmptyAndWhitespaceParamsKeepTheirExactText) {
  Result<SoapCall> call =
      ParseSoapRequest(R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>)"
                       "<op>\n  <a/>\n  <b> </b>\n</op></s:Body></s:Envelope>");
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->params, (std::vector<SoapParam>{{"a", ""}, {"b", " "}}));
}

TEST(CodecSoapParseTest, NilParamCountsAsNotSent) {
  Result<SoapCall> call = ParseSoapRequest(
      R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><op>)"
      R"(<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/><b>1</b>)"
      R"(</op></s:Body></s:Envelope>)");
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->Find("a"), nullptr);
  EXPECT_EQ(call->params, (std::vector<SoapParam>{{"b", "1"}}));
}

TEST(CodecSoapParseTest, OperationWithoutParamsHasNone) {
  Result<SoapCall> call = ParseSoapRequest(
      R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><op/>)"
      R"(</s:Body></s:Envelope>)");
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->operation, "op");
  EXPECT_EQ(call->operation_namespace, "");
  EXPECT_TRUE(call->params.empty());
}

void ExpectInvalid(std::string_view body, std::string_view message_part) {
  Result<SoapCall> call = ParseSoapRequest(body);
  ASSERT_FALSE(call.ok()) << "accepted: " << body;
  EXPECT_EQ(call.error().code, errc::kInvalidArgument);
  EXPECT_NE(call.error().message.find(message_part), std::string::npos) << call.error().message;
}

TEST(CodecSoapParseTest, MalformedXmlIsAnError) {
  ExpectInvalid(R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>)",
                "not well-formed");
}

TEST(CodecSoapParseTest, NonEnvelopeRootIsAnError) {
  ExpectInvalid("<ticketValidation/>", "not a SOAP Envelope");
}

TEST(CodecSoapParseTest, EnvelopeInAnUnknownNamespaceIsAnError) {
  ExpectInvalid(R"(<Envelope xmlns="urn:other"><Body><op/></Body></Envelope>)",
                "neither SOAP 1.1 nor SOAP 1.2");
}

TEST(CodecSoapParseTest, EnvelopeWithoutBodyIsAnError) {
  ExpectInvalid(R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">)"
                R"(<s:Header/></s:Envelope>)",
                "no Body");
}

TEST(CodecSoapParseTest, EmptyBodyIsAnError) {
  ExpectInvalid(R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">)"
                R"(<s:Body> </s:Body></s:Envelope>)",
                "no operation");
}

TEST(CodecSoapParseTest, DoctypeIsRefused) {
  ExpectInvalid(R"(<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>)"
                R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>)"
                R"(<op><a>&x;</a></op></s:Body></s:Envelope>)",
                "DOCTYPE");
}

TEST(CodecSoapParseTest, ParamHoldingElementsIsAnError) {
  ExpectInvalid(R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>)"
                R"(<op><args><SSO/></args></op></s:Body></s:Envelope>)",
                "parameters are strings");
}

TEST(CodecSoapParseTest, RepeatedParamIsAnError) {
  ExpectInvalid(R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>)"
                R"(<op><st>a</st><ns:st xmlns:ns="urn:x">b</ns:st></op></s:Body></s:Envelope>)",
                "repeated");
}

TEST(CodecSoapParseTest, TextBetweenParamsIsAnError) {
  ExpectInvalid(R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>)"
                R"(<op>stray<st>a</st></op></s:Body></s:Envelope>)",
                "text outside its parameters");
}

TEST(CodecSoapParseTest, ElementsWithAnEmptyLocalNameAreErrors) {
  ExpectInvalid(R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>)"
                R"(<s:/></s:Body></s:Envelope>)",
                "no name");
  ExpectInvalid(R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>)"
                R"(<op><s:>1</s:></op></s:Body></s:Envelope>)",
                "no name");
}

TEST(CodecSoapParseTest, BodyLargerThanTheLimitIsTooLarge) {
  ParseLimits limits;
  limits.max_bytes = 16;
  Result<SoapCall> call = ParseSoapRequest(kQualifiedRequest, limits);
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.error().code, errc::kTooLarge);
}

TEST(CodecSoapParseTest, MoreThan64ParamsIsTooLarge) {
  std::string params;
  for (int i = 0; i < 65; ++i) params += "<p" + std::to_string(i) + "/>";
  Result<SoapCall> call = ParseSoapRequest(
      R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><op>)" + params +
      "</op></s:Body></s:Envelope>");
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.error().code, errc::kTooLarge);
}

// --- BuildSoapResponse / BuildSoapFault ---

TEST(CodecSoapBuildTest, ResponseWrapsEscapedTextInOut) {
  EXPECT_EQ(BuildSoapResponse(
                "ticketValidation", kSsoServiceNamespace,
                R"(<?xml version="1.0" encoding="UTF-8"?><SSO><errmsg>成功</errmsg></SSO>)"),
            R"(<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>)"
            R"(<ns:ticketValidationResponse xmlns:ns="http://webservice.api.commnetsoft.com">)"
            R"(<ns:out>&lt;?xml version="1.0" encoding="UTF-8"?&gt;&lt;SSO&gt;&lt;errmsg&gt;成功)"
            R"(&lt;/errmsg&gt;&lt;/SSO&gt;</ns:out></ns:ticketValidationResponse>)"
            R"(</soap:Body></soap:Envelope>)");
}

TEST(CodecSoapBuildTest, ResponseOutTextReadsBackExactly) {
  const std::string text = R"({"result":"0","errmsg":"成功","memo":"a&b<c>\r\n"})";
  const std::string xml = BuildSoapResponse("getUserInfo", kSsoServiceNamespace, text);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  const pugi::xml_node out =
      Child(Child(Child(doc.document_element(), "soap:Body"), "ns:getUserInfoResponse"), "ns:out");
  EXPECT_EQ(std::string(out.text().get()), text);
}

TEST(CodecSoapBuildTest, Soap12ResponseUsesThe12Namespace) {
  const std::string xml = BuildSoapResponse("op", "urn:x", "t", SoapVersion::k12);
  EXPECT_NE(xml.find(R"(xmlns:soap="http://www.w3.org/2003/05/soap-envelope")"), std::string::npos);
}

TEST(CodecSoapBuildTest, Soap11FaultCarriesCodeAndEscapedMessage) {
  EXPECT_EQ(BuildSoapFault(SoapFaultCode::kClient, "unknown operation <x> & 未知"),
            R"(<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>)"
            R"(<soap:Fault><faultcode>soap:Client</faultcode>)"
            R"(<faultstring>unknown operation &lt;x&gt; &amp; 未知</faultstring>)"
            R"(</soap:Fault></soap:Body></soap:Envelope>)");
}

TEST(CodecSoapBuildTest, ServerFaultUsesSoapServer) {
  EXPECT_NE(BuildSoapFault(SoapFaultCode::kServer, "x").find("<faultcode>soap:Server</faultcode>"),
            std::string::npos);
}

TEST(CodecSoapBuildTest, Soap12FaultUsesSenderAndReason) {
  const std::string xml = BuildSoapFault(SoapFaultCode::kClient, "bad", SoapVersion::k12);
  EXPECT_NE(xml.find("<soap:Code><soap:Value>soap:Sender</soap:Value></soap:Code>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find(R"(<soap:Reason><soap:Text xml:lang="en">bad</soap:Text></soap:Reason>)"),
            std::string::npos)
      << xml;
}

TEST(CodecSoapBuildTest, ContentTypeFollowsTheVersion) {
  EXPECT_EQ(SoapContentType(SoapVersion::k11), "text/xml;charset=utf-8");
  EXPECT_EQ(SoapContentType(SoapVersion::k12), "application/soap+xml;charset=utf-8");
}

TEST(CodecSoapBuildTest, ResponseParsesAsARequestOfTheResponseOperation) {
  // Our own parser reads our own envelope: a cheap well-formedness and structure check.
  Result<SoapCall> call =
      ParseSoapRequest(BuildSoapResponse("logout", kSsoServiceNamespace, "<SSO/>"));
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->operation, "logoutResponse");
  EXPECT_EQ(call->params, (std::vector<SoapParam>{{"out", "<SSO/>"}}));
}

}  // namespace
}  // namespace tongban::codec
