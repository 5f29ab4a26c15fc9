#include "trace/load.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

class VectorReader : public TraceReader {
 public:
  explicit VectorReader(std::vector<IoEvent> ev) : ev_(std::move(ev)) {}
  Result<bool> Next(IoEvent* e) override {
    if (i_ == ev_.size()) return false;
    *e = ev_[i_++];
    return true;
  }
  uint64_t skipped() const override { return 0; }

 private:
  std::vector<IoEvent> ev_;
  size_t i_ = 0;
};

std::vector<IoEvent> ThreeDevices() {
  std::vector<IoEvent> ev;
  for (uint32_t d : {1u, 2u, 2u, 5u, 2u}) {
    IoEvent e;
    e.device = d;
    ev.push_back(e);
  }
  return ev;
}

TEST(LoadTraceTest, KeepsTheBusiestDeviceUnlessOneIsChosen) {
  VectorReader r(ThreeDevices());
  auto t = LoadTrace(r, std::nullopt);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->device, 2u);
  EXPECT_EQ(t->devices, 3u);
  EXPECT_EQ(t->events.size(), 3u);

  EXPECT_EQ(BusiestDeviceNote("a.csv", *t, "--dev"),
            "ferry: a.csv has 3 devices; using the busiest, device 2 (choose one with --dev)");

  VectorReader r2(ThreeDevices());
  t = LoadTrace(r2, 5u);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->events.size(), 1u);
}

TEST(LoadTraceTest, AnAbsentDeviceIsAnErrorListingThePresentOnes) {
  VectorReader r(ThreeDevices());
  auto t = LoadTrace(r, 7u);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("1, 2, 5"), std::string::npos);
}

}  // namespace
}  // namespace ferry
