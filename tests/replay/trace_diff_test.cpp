// How `gorepro diff` lines up the go statements of two traces: by function, file name and
// line — not by address, and not by the directory the program was built in.
#include <gtest/gtest.h>

#include "replay/trace_diff.h"

namespace gorepro::replay {
namespace {

SiteCount site(std::string function, std::string file, int line, uint64_t created, uint64_t alive) {
  return {SourceFrame{std::move(function), std::move(file), line, false}, "example.com/app/worker.run", created, alive};
}

TEST(TraceDiff, MatchesAGoStatementBuiltInAnotherDirectoryOrWithTrimpath) {
  SiteCounts before, checkout, trimmed;
  before.sites = {site("example.com/app/worker.Start", "/home/ci/work/1/app/worker/pool.go", 42, 10, 2)};
  checkout.sites = {site("example.com/app/worker.Start", "/tmp/build-7/app/worker/pool.go", 42, 10, 5)};
  trimmed.sites = {site("example.com/app/worker.Start", "example.com/app/worker/pool.go", 42, 10, 2)};
  for (const SiteCounts* after : {&checkout, &trimmed}) {
    TraceDiff d = diff_site_counts(before, *after);
    ASSERT_EQ(d.sites.size(), 1u) << "one go statement, in both traces";
    EXPECT_EQ(d.sites[0].created_before, 10u);
    EXPECT_EQ(d.sites[0].created_after, 10u);
    EXPECT_EQ(d.sites[0].alive_before, 2u);
    EXPECT_EQ(d.sites[0].alive_after, after->sites[0].alive);
    EXPECT_EQ(d.sites[0].site.file, after->sites[0].site.file) << "shown as AFTER names it";
  }
}

TEST(TraceDiff, KeepsGoStatementsApartThatDifferInFunctionFileNameOrLine) {
  SiteCounts before, after;
  before.sites = {site("example.com/app/worker.Start", "/a/app/worker/pool.go", 42, 3, 1)};
  after.sites = {site("example.com/app/worker.Start", "/b/app/worker/pool.go", 43, 3, 1),
                 site("example.com/app/worker.Stop", "/b/app/worker/pool.go", 42, 3, 1),
                 site("example.com/app/worker.Start", "/b/app/worker/queue.go", 42, 3, 1)};
  TraceDiff d = diff_site_counts(before, after);
  EXPECT_EQ(d.sites.size(), 4u);
  for (const auto& s : d.sites) EXPECT_TRUE(s.created_before == 0 || s.created_after == 0) << s.site.file;
}

}  // namespace
}  // namespace gorepro::replay
