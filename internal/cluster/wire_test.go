package cluster

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/store"
)

func TestEncodeEvent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		data    string
		refetch bool
	}{
		{"NoData", "", false},
		{"Small", `{"port":"out"}`, false},
		{"JustBelow", `"` + strings.Repeat("a", MaxMessageBytes-300) + `"`, false},
		{"TooLarge", `"` + strings.Repeat("a", MaxMessageBytes) + `"`, true},
		{"LargeOnceEscaped", `"` + strings.Repeat("<", MaxMessageBytes/2) + `"`, true},
		{"NotJSON", `{"unterminated`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := message("x", 3, "node.log", tc.data)
			b, err := encodeEvent("p1", m)
			require.NoError(t, err)
			require.LessOrEqual(t, len(b), MaxMessageBytes)
			w, err := decode(string(b))
			require.NoError(t, err)
			require.Equal(t, tc.refetch, w.Refetch)
			got := w.message()
			require.Equal(t, m.Event.Time, got.Event.Time)
			if !tc.refetch {
				require.Equal(t, m.Event, got.Event)
				return
			}
			require.Empty(t, got.Event.Data)
		})
	}
	_, err := encodeEvent("p1", &event.Message{TenantID: strings.Repeat("t", MaxMessageBytes), Event: store.Event{ExecutionID: "x", Seq: 1, Type: "node.log"}})
	require.ErrorIs(t, err, errOversized)
}

func TestEncodeCancel(t *testing.T) {
	t.Parallel()
	b, err := encodeCancel("p1", store.ExecutionRef{TenantID: "t1", ID: "x"})
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	require.Equal(t, map[string]any{"v": 1.0, "k": "c", "o": "p1", "t": "t1", "x": "x"}, raw)
	w, err := decode(string(b))
	require.NoError(t, err)
	require.Equal(t, kindCancel, w.Kind)
}

func TestEncodeInvalidate(t *testing.T) {
	t.Parallel()
	inv := cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: "t1", Key: "w1"}
	b, err := encodeInvalidate("p1", inv)
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	require.Equal(t, map[string]any{"v": 1.0, "k": "i", "o": "p1", "t": "t1", "c": "webhooks", "i": "w1"}, raw)
	w, err := decode(string(b))
	require.NoError(t, err)
	require.Equal(t, inv, w.invalidation())
}
