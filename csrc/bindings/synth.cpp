// Bindings of the StatsNet synthesizer (csrc/synth): conversions only.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings/common.hpp"
#include "common/errors.hpp"
#include "synth/ga.hpp"
#include "synth/model.hpp"

namespace nb = nanobind;

namespace am::bind {

namespace {

synth::WarpModel warp_model(const std::vector<int64_t>& t) {
  if (t.size() != 3 && t.size() != 7)
    throw std::invalid_argument("a warp model is (tm, tn, wpt) or (tm, tn, wpt, ctas, kc, reduce, bias)");
  synth::WarpModel m;
  m.tm = t[0], m.tn = t[1], m.wpt = t[2];
  if (t.size() == 7) m.ctas = t[3], m.kc = t[4], m.reduce = t[5], m.bias = t[6];
  return m;
}

synth::Problem problem(const nb::dict& d) {
  synth::Problem p;
  std::vector<synth::WarpModel> wms;
  std::vector<int64_t> strides;
  for (auto [key, value] : d) {
    const std::string k = nb::cast<std::string>(key);
    if (k == "batch") p.batch = nb::cast<int64_t>(value);
    else if (k == "h") p.h = nb::cast<int64_t>(value);
    else if (k == "w") p.w = nb::cast<int64_t>(value);
    else if (k == "cin0") p.cin0 = nb::cast<int64_t>(value);
    else if (k == "cin0_max") p.cin0_max = nb::cast<int64_t>(value);
    else if (k == "last_fixed") p.last_fixed = nb::cast<int64_t>(value);
    else if (k == "min_filters") p.min_filters = nb::cast<int64_t>(value);
    else if (k == "macs_real") p.macs_real = nb::cast<double>(value);
    else if (k == "warps_real") p.warps_real = nb::cast<double>(value);
    else if (k == "bits") p.bits = nb::cast<int>(value);
    else if (k == "kernels") {
      for (nb::handle kv : nb::cast<nb::sequence>(value)) {
        auto pair = nb::cast<std::vector<int64_t>>(kv);
        if (pair.size() != 2) throw std::invalid_argument("each kernel must be (kh, kw)");
        synth::SynthLayer l;
        l.kh = pair[0], l.kw = pair[1];
        p.layers.push_back(l);
      }
    } else if (k == "strides") {
      strides = nb::cast<std::vector<int64_t>>(value);
    } else if (k == "warp_model") {
      // one model for every layer, or a list with one per layer
      auto seq = nb::cast<nb::sequence>(value);
      if (nb::len(seq) > 0 && (nb::isinstance<nb::tuple>(seq[0]) || nb::isinstance<nb::list>(seq[0]))) {
        for (nb::handle t : seq) wms.push_back(warp_model(nb::cast<std::vector<int64_t>>(t)));
      } else {
        wms.push_back(warp_model(nb::cast<std::vector<int64_t>>(value)));
      }
    } else throw std::invalid_argument("unknown synthesis problem field '" + k + "'");
  }
  if (wms.size() == 1) wms.assign(p.layers.size(), wms[0]);
  if (!wms.empty() && wms.size() != p.layers.size())
    throw std::invalid_argument("warp_model: " + std::to_string(wms.size()) + " models for " +
                                std::to_string(p.layers.size()) + " layers");
  for (size_t i = 0; i < wms.size(); ++i) p.layers[i].wm = wms[i];
  if (!strides.empty() && strides.size() != p.layers.size())
    throw std::invalid_argument("strides: " + std::to_string(strides.size()) + " strides for " +
                                std::to_string(p.layers.size()) + " layers");
  for (size_t i = 0; i < strides.size(); ++i) p.layers[i].stride = strides[i];
  p.validate();
  return p;
}

synth::GaOptions options(const nb::dict& d) {
  synth::GaOptions o;
  for (auto [key, value] : d) {
    const std::string k = nb::cast<std::string>(key);
    if (k == "population") o.population = option<int>(k, value);
    else if (k == "generations") o.generations = option<int>(k, value);
    else if (k == "seed") o.seed = option<uint64_t>(k, value);
    else if (k == "tournament") o.tournament = option<int>(k, value);
    else if (k == "crossover") o.crossover = option<double>(k, value);
    else if (k == "mutation") o.mutation = option<double>(k, value);
    else if (k == "elite") o.elite = option<int>(k, value);
    else if (k == "refine") o.refine = option<bool>(k, value);
    else if (k == "refine_radius") o.refine_radius = option<int>(k, value);
    else if (k == "refine_max_steps") o.refine_max_steps = option<int>(k, value);
    else if (k == "vectorize") o.vectorize = option<bool>(k, value);
    else throw std::invalid_argument("unknown GA option '" + k + "'");
  }
  return o;
}

using FilterArray = nb::ndarray<const int32_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

}  // namespace

void bind_synth(nb::module_& m) {
  m.def(
      "synth_fitness",
      [](nb::dict prob, FilterArray filters) {
        const synth::Problem p = problem(prob);
        if (filters.shape(1) != p.layers.size() + 1)
          throw std::invalid_argument("chains have " + std::to_string(filters.shape(1)) + " columns, the group needs " +
                                      std::to_string(p.layers.size() + 1) +
                                      " (input channels + one filter count per layer)");
        std::vector<double> out(filters.shape(0));
        {
          nb::gil_scoped_release nogil;
          synth::evaluate_population(p, filters.data(), int64_t(filters.shape(0)), out.data());
        }
        return out;
      },
      nb::arg("problem"), nb::arg("chains"), "Fitness of each row [input channels, filter counts...] (OpenMP).");

  m.def(
      "synth_totals",
      [](nb::dict prob, std::vector<int32_t> filters) {
        const synth::Problem p = problem(prob);
        if (filters.size() != p.layers.size() + 1)
          throw std::invalid_argument("a chain is input channels + one filter count per layer");
        int64_t macs, warps;
        synth::totals(p, filters.data(), macs, warps);
        return nb::make_tuple(macs, warps);
      },
      nb::arg("problem"), nb::arg("chain"), "(MACs, warps) of a synthetic group's chain.");

  m.def(
      "synth_ga",
      [](nb::dict prob, nb::dict opts) {
        const synth::Problem p = problem(prob);
        const synth::GaOptions o = options(opts);
        synth::GaResult r;
        {
          nb::gil_scoped_release nogil;
          r = synth::run_ga(p, o);
        }
        nb::dict d;
        d["chain"] = r.chain;
        d["ga_chain"] = r.ga_chain;
        d["fitness"] = r.fitness;
        d["ga_fitness"] = r.ga_fitness;
        d["macs"] = r.macs;
        d["warps"] = r.warps;
        d["history"] = r.history;
        d["evaluations"] = r.evaluations;
        d["refine_steps"] = r.refine_steps;
        return d;
      },
      nb::arg("problem"), nb::arg("options"), "Genetic algorithm + local refinement for one group.");

  m.def("synth_vectorized", &synth::ga_vectorized,
        "Whether the native GA runs its passes eight children at a time (AVX-512) on this CPU.");

  m.def(
      "synth_random",
      [](uint64_t seed, int64_t generation, int64_t individual, uint32_t slot) {
        return synth::ga_random(seed, generation, individual, slot);
      },
      "The GA's keyed random number (for the reference tests).");

  m.def(
      "synth_refine",
      [](nb::dict prob, std::vector<int32_t> filters, int radius, int max_steps) {
        const synth::Problem p = problem(prob);
        if (filters.size() != p.layers.size() + 1)
          throw std::invalid_argument("a chain is input channels + one filter count per layer");
        double fit = synth::fitness(p, filters.data());
        int64_t evals = 0;
        const int steps = synth::refine(p, filters, fit, radius, max_steps, evals);
        return nb::make_tuple(filters, fit, steps);
      },
      nb::arg("problem"), nb::arg("chain"), nb::arg("radius") = 3, nb::arg("max_steps") = 10000);
}

}  // namespace am::bind
