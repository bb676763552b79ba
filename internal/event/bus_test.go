package event

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
)

func TestBus(t *testing.T) {
	t.Parallel()

	t.Run("DeliversToExecutionAndTenantSubscribers", func(t *testing.T) {
		t.Parallel()
		b := NewBus()
		one := b.Subscribe("t1", "e1", 4)
		all := b.Subscribe("t1", "", 4)
		other := b.Subscribe("t2", "", 4)
		defer one.Close()
		defer all.Close()
		defer other.Close()

		b.Publish("t1", store.Event{ExecutionID: "e1", Seq: 1})
		b.Publish("t1", store.Event{ExecutionID: "e2", Seq: 1})
		require.Equal(t, int64(1), (<-one.C).Seq)
		require.Equal(t, "e1", (<-all.C).ExecutionID)
		require.Equal(t, "e2", (<-all.C).ExecutionID)
		require.Empty(t, one.C)
		require.Empty(t, other.C, "tenants are isolated")
		require.Equal(t, 3, b.Subscribers())
	})

	t.Run("FullSubscriberIsMarkedLagged", func(t *testing.T) {
		t.Parallel()
		b := NewBus()
		s := b.Subscribe("t", "e", 1)
		b.Publish("t", store.Event{ExecutionID: "e", Seq: 1})
		b.Publish("t", store.Event{ExecutionID: "e", Seq: 2})
		require.True(t, s.Lagged())
		s.Close()
		_, open := <-s.C
		require.True(t, open, "the buffered event is still delivered")
		_, open = <-s.C
		require.False(t, open)
		require.Zero(t, b.Subscribers())
		b.Publish("t", store.Event{ExecutionID: "e", Seq: 3}) // no panic after close
	})
}
