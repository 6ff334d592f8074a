package metrics

import (
	"fmt"
)

// Value reads one series of the registry: a counter's or gauge's value, or a histogram's
// sample count, for the series of family name (with the datasurface_ prefix) whose labels
// include every label given. It reports false when no such series exists. Tests and the
// bench use it; it gathers the whole registry, so it is not for hot paths.
func Value(name string, labels map[string]string) (float64, bool, error) {
	fams, err := registry.Gather()
	if err != nil {
		return 0, false, fmt.Errorf("gather metrics: %w", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true, nil
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true, nil
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount()), true, nil
			}
		}
	}
	return 0, false, nil
}
