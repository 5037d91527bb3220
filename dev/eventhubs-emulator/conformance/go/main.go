// Conformance client: drives the emulator with the unpatched Go SDK (azeventhubs, the one KEDA uses) and
// reports checks as JSON. Run by conformance.test.ts; each subcommand prints {"checks": {name: "ok" | problem}},
// except `balance`, which prints a JSON line per event and per partition gained or lost until stdin closes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/go-amqp"
)

const timeout = 60 * time.Second

type options struct {
	connectionString, wrongKey, hub, partition, storage, container, consumerGroup string
}

type checks map[string]string

func (c checks) expect(name string, ok bool, problem string, args ...any) {
	if ok {
		c[name] = "ok"
	} else {
		c[name] = fmt.Sprintf(problem, args...)
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: conformance roundtrip|properties|refusals|balance [flags]")
		os.Exit(2)
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	var o options
	flags.StringVar(&o.connectionString, "connection-string", "", "emulator connection string")
	flags.StringVar(&o.wrongKey, "wrong-key-connection-string", "", "the same with a wrong key")
	flags.StringVar(&o.hub, "hub", "", "event hub name")
	flags.StringVar(&o.partition, "partition", "0", "partition for roundtrip")
	flags.StringVar(&o.storage, "storage-connection-string", "", "blob storage (azurite) for checkpoints")
	flags.StringVar(&o.container, "container", "", "blob container for checkpoints")
	flags.StringVar(&o.consumerGroup, "consumer-group", azeventhubs.DefaultConsumerGroup, "consumer group")
	_ = flags.Parse(os.Args[2:])
	ctx, cancel := context.WithTimeout(context.Background(), 2*timeout)
	defer cancel()
	var result checks
	var err error
	switch os.Args[1] {
	case "roundtrip":
		result, err = roundtrip(ctx, o)
	case "properties":
		result, err = properties(ctx, o)
	case "refusals":
		result, err = refusals(ctx, o)
	case "balance":
		err = balance(o)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if result != nil {
		_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"checks": result})
	}
}

var fixedUUID = amqp.UUID{0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78}
var fixedTime = time.UnixMilli(1_700_000_000_123).UTC()

// sentProperties has a value of each simple AMQP type that go-amqp encodes; each must come back with its Go type
// (go-amqp hands a received symbol over as a string: receivedProperties says so).
func sentProperties() map[string]any {
	return map[string]any{
		"ubyte":     uint8(7),
		"ushort":    uint16(65000),
		"uint":      uint32(4_000_000_000),
		"ulong":     uint64(math.MaxInt64) + 6,
		"byte":      int8(-7),
		"short":     int16(-30000),
		"int":       int32(-2_000_000_000),
		"long":      int64(1<<60 + 1),
		"float":     float32(1.5),
		"double":    float64(2.0),
		"boolean":   true,
		"timestamp": fixedTime,
		"uuid":      fixedUUID,
		"symbol":    amqp.Symbol("sym"),
		"string":    "text",
		"binary":    []byte{0, 1, 0xff},
	}
}

// valueBody is an amqp-value body: a map with integer and string keys, a list and nested values.
func valueBody() any {
	return map[any]any{int64(1): "one", "two": []any{uint8(2), float64(2.0), true}, "nested": map[any]any{"k": fixedUUID}}
}

func receivedProperties() map[string]any {
	properties := sentProperties()
	properties["symbol"] = "sym"
	return properties
}

// receivedValueBody is valueBody as go-amqp decodes it: nested maps with string keys become map[string]any.
func receivedValueBody() any {
	return map[any]any{int64(1): "one", "two": []any{uint8(2), float64(2.0), true}, "nested": map[string]any{"k": fixedUUID}}
}

func compareProperties(label string, got map[string]any, c checks) {
	for name, want := range receivedProperties() {
		value, found := got[name]
		ok := found && reflect.TypeOf(value) == reflect.TypeOf(want) && reflect.DeepEqual(normalize(value), normalize(want))
		c.expect(label+": property "+name, ok, "sent %v (%T), got %v (%T)", want, want, value, value)
	}
}

func normalize(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UnixMilli()
	}
	return v
}

func roundtrip(ctx context.Context, o options) (checks, error) {
	c := checks{}
	producer, err := azeventhubs.NewProducerClientFromConnectionString(o.connectionString, "", nil)
	if err != nil {
		return nil, err
	}
	defer producer.Close(ctx)
	partition := o.partition
	// The Go SDK sends every event in a batch envelope (message format 0x80013700): a batch of one and of two.
	for _, count := range []int{1, 2} {
		batch, err := producer.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionID: &partition})
		if err != nil {
			return nil, fmt.Errorf("new batch: %w", err)
		}
		if err := batch.AddEventData(&azeventhubs.EventData{Body: []byte("data"), Properties: sentProperties()}, nil); err != nil {
			return nil, err
		}
		if count == 2 {
			value := &azeventhubs.AMQPAnnotatedMessage{ApplicationProperties: sentProperties(), Body: azeventhubs.AMQPAnnotatedMessageBody{Value: valueBody()}}
			if err := batch.AddAMQPAnnotatedMessage(value, nil); err != nil {
				return nil, err
			}
		}
		if err := producer.SendEventDataBatch(ctx, batch, nil); err != nil {
			return nil, fmt.Errorf("send batch of %d: %w", count, err)
		}
	}
	events, err := receive(ctx, o, partition, 3, nil)
	if err != nil {
		return nil, err
	}
	c.expect("three events come back", len(events) == 3, "got %d", len(events))
	labels := []string{"batch of one: data", "batch of two: data", "batch of two: value"}
	for i, event := range events {
		if i >= len(labels) {
			break
		}
		label := labels[i]
		compareProperties(label, event.Properties, c)
		if strings.HasSuffix(label, "value") {
			got := event.RawAMQPMessage.Body.Value
			c.expect(label+": amqp-value body", reflect.DeepEqual(got, receivedValueBody()), "got %#v", got)
		} else {
			c.expect(label+": data body", string(event.Body) == "data", "got %q", event.Body)
		}
		c.expect(label+": service annotations", event.EnqueuedTime != nil && event.Offset != "", "missing offset or enqueued time")
	}
	return c, nil
}

func receive(ctx context.Context, o options, partition string, count int, ownerLevel *int64) ([]*azeventhubs.ReceivedEventData, error) {
	consumer, err := azeventhubs.NewConsumerClientFromConnectionString(o.connectionString, "", azeventhubs.DefaultConsumerGroup, nil)
	if err != nil {
		return nil, err
	}
	defer consumer.Close(ctx)
	client, err := consumer.NewPartitionClient(partition, &azeventhubs.PartitionClientOptions{
		StartPosition: azeventhubs.StartPosition{Earliest: to(true)},
		OwnerLevel:    ownerLevel,
	})
	if err != nil {
		return nil, err
	}
	defer client.Close(ctx)
	var events []*azeventhubs.ReceivedEventData
	deadline := time.Now().Add(timeout)
	for len(events) < count && time.Now().Before(deadline) {
		receiveCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		batch, err := client.ReceiveEvents(receiveCtx, count-len(events), nil)
		cancel()
		events = append(events, batch...)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return events, err
		}
	}
	return events, nil
}

func to[T any](v T) *T { return &v }

func properties(ctx context.Context, o options) (checks, error) {
	c := checks{}
	producer, err := azeventhubs.NewProducerClientFromConnectionString(o.connectionString, "", nil)
	if err != nil {
		return nil, err
	}
	defer producer.Close(ctx)
	hub, err := producer.GetEventHubProperties(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("hub properties: %w", err)
	}
	c.expect("hub properties", hub.Name == o.hub && reflect.DeepEqual(hub.PartitionIDs, []string{"0", "1", "2", "3"}), "got %+v", hub)
	batch, err := producer.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionID: to("1")})
	if err != nil {
		return nil, err
	}
	_ = batch.AddEventData(&azeventhubs.EventData{Body: []byte("p")}, nil)
	if err := producer.SendEventDataBatch(ctx, batch, nil); err != nil {
		return nil, err
	}
	partition, err := producer.GetPartitionProperties(ctx, "1", nil)
	if err != nil {
		return nil, fmt.Errorf("partition properties: %w", err)
	}
	c.expect("partition properties", partition.PartitionID == "1" && !partition.IsEmpty && partition.LastEnqueuedSequenceNumber >= 0, "got %+v", partition)
	return c, nil
}

func refusals(ctx context.Context, o options) (checks, error) {
	c := checks{}
	wrong, err := azeventhubs.NewProducerClientFromConnectionString(o.wrongKey, "", &azeventhubs.ProducerClientOptions{RetryOptions: azeventhubs.RetryOptions{MaxRetries: -1}})
	if err != nil {
		return nil, err
	}
	_, err = wrong.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionID: to("0")})
	var ehErr *azeventhubs.Error
	c.expect("wrong key is refused", errors.As(err, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeUnauthorizedAccess, "got %v", err)
	_ = wrong.Close(ctx)

	producer, err := azeventhubs.NewProducerClientFromConnectionString(o.connectionString, "", nil)
	if err != nil {
		return nil, err
	}
	defer producer.Close(ctx)
	batch, err := producer.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionID: to("2")})
	if err != nil {
		return nil, err
	}
	err = batch.AddEventData(&azeventhubs.EventData{Body: make([]byte, 1024*1024+100)}, nil)
	c.expect("an event larger than the link's limit is refused", errors.Is(err, azeventhubs.ErrEventDataTooLarge), "got %v", err)
	_ = batch.AddEventData(&azeventhubs.EventData{Body: []byte("owner-level")}, nil)
	if err := producer.SendEventDataBatch(ctx, batch, nil); err != nil {
		return nil, err
	}

	if _, err := receive(ctx, o, "2", 1, to(int64(2))); err != nil {
		return nil, fmt.Errorf("owner level 2: %w", err)
	}
	high, err := azeventhubs.NewConsumerClientFromConnectionString(o.connectionString, "", azeventhubs.DefaultConsumerGroup, nil)
	if err != nil {
		return nil, err
	}
	defer high.Close(ctx)
	highClient, err := high.NewPartitionClient("2", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}, OwnerLevel: to(int64(2))})
	if err != nil {
		return nil, err
	}
	defer highClient.Close(ctx)
	highCtx, cancelHigh := context.WithTimeout(ctx, timeout)
	events, err := highClient.ReceiveEvents(highCtx, 1, nil)
	cancelHigh()
	if err != nil || len(events) != 1 {
		return nil, fmt.Errorf("owner level 2 read %d events: %v", len(events), err)
	}
	_, lowErr := receive(ctx, o, "2", 1, to(int64(1)))
	c.expect("a lower owner level is refused (ErrorCodeOwnershipLost)", errors.As(lowErr, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeOwnershipLost, "got %v", lowErr)
	return c, nil
}

// balance runs a Processor with a blob checkpoint store until standard input closes.
func balance(o options) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	emit := func(record map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(os.Stdout).Encode(record)
	}
	containerClient, err := container.NewClientFromConnectionString(o.storage, o.container, nil)
	if err != nil {
		return err
	}
	store, err := checkpoints.NewBlobStore(containerClient, nil)
	if err != nil {
		return err
	}
	consumer, err := azeventhubs.NewConsumerClientFromConnectionString(o.connectionString, "", o.consumerGroup, nil)
	if err != nil {
		return err
	}
	defer consumer.Close(context.Background())
	processor, err := azeventhubs.NewProcessor(consumer, store, &azeventhubs.ProcessorOptions{
		LoadBalancingStrategy:       azeventhubs.ProcessorStrategyGreedy,
		UpdateInterval:              time.Second,
		PartitionExpirationDuration: 6 * time.Second,
		StartPositions:              azeventhubs.StartPositions{Default: azeventhubs.StartPosition{Earliest: to(true)}},
	})
	if err != nil {
		return err
	}
	go func() {
		for {
			partition := processor.NextPartitionClient(ctx)
			if partition == nil {
				return
			}
			go func() {
				id := partition.PartitionID()
				emit(map[string]any{"own": id})
				defer func() { emit(map[string]any{"release": id}); _ = partition.Close(context.Background()) }()
				for {
					receiveCtx, cancelReceive := context.WithTimeout(ctx, time.Second)
					events, err := partition.ReceiveEvents(receiveCtx, 100, nil)
					cancelReceive()
					for _, event := range events {
						emit(map[string]any{"event": string(event.Body), "partition": id, "sequence": event.SequenceNumber})
					}
					if len(events) > 0 {
						if cpErr := partition.UpdateCheckpoint(ctx, events[len(events)-1], nil); cpErr != nil {
							emit(map[string]any{"error": cpErr.Error(), "partition": id})
						}
					}
					if err != nil && !errors.Is(err, context.DeadlineExceeded) {
						if !errors.Is(err, context.Canceled) {
							emit(map[string]any{"error": err.Error(), "partition": id})
						}
						return
					}
				}
			}()
		}
	}()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	emit(map[string]any{"started": time.Now().Format(time.RFC3339)})
	if err := processor.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
