// The HTML report's inlined code: the chart and flame-graph libraries pinned in
// web/package-lock.json (uPlot, d3-flame-graph and the d3-selection it is driven with) and the
// report's own app (web/src), embedded at build time by cmake/EmbedHtmlAssets.cmake.
#pragma once

#include <string>

namespace gorepro::exporting {

// False when gorepro was built without web/node_modules (npm absent, or `npm ci` not run).
bool html_assets_built();
const std::string& html_scripts();  // every script, in load order
const std::string& html_styles();

}  // namespace gorepro::exporting
