// Server-rendered HTML for the sign-on pages (login, personal centre, app
// launcher): escaping and a minimal template fill. Used by login_page.cc;
// kept separate so the escaping rules have their own tests.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace tongban::sso {

// Escapes & < > " ' so that the text is safe both in element content and in
// a double- or single-quoted attribute value.
std::string HtmlEscape(std::string_view text);

// Replaces each {{name}} in `tpl` with the HTML-escaped value of `name` and
// each {{{name}}} with the value as it is (for fragments built by this
// module). A name without a value becomes "", so a template can never emit
// an unfilled placeholder.
using TemplateVars = std::initializer_list<std::pair<std::string_view, std::string_view>>;
std::string FillTemplate(std::string_view tpl, TemplateVars vars);

}  // namespace tongban::sso
