// Bindings of the StatsNet synthesizer (csrc/synth); filled in by the synth work.
#include <nanobind/nanobind.h>

namespace am::bind {
void bind_synth(nanobind::module_&) {}
}
