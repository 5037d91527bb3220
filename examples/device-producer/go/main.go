// Sends device events to the eventfleet device hub with the Go SDK (azeventhubs v2).
//
// Each event is a JSON object as docs/schemas/device-event.schema.json describes it, sent with partition key =
// deviceId, so one device's events keep their order on one partition. Events of one device go out in batches
// sized by the SDK to the hub's limit (1 MiB per batch on Standard; the same for one event).
//
//	EVENTHUB_CONNECTION_STRING='Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…;EntityPath=telemetry' \
//	  go run . -devices 3 -events 5
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// DeviceEvent is the body docs/schemas/device-event.schema.json describes.
type DeviceEvent struct {
	DeviceID string         `json:"deviceId"`
	EventID  string         `json:"eventId,omitempty"` // lets the consumer drop a redelivered event
	Type     string         `json:"type"`              // telemetry, status or alert
	TS       string         `json:"ts"`                // ISO 8601 with offset
	Payload  map[string]any `json:"payload"`
}

func newEventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// sendDeviceEvents sends one device's events in as few batches as fit, each with the device id as partition key.
func sendDeviceEvents(ctx context.Context, producer *azeventhubs.ProducerClient, deviceID string, events []DeviceEvent) error {
	options := &azeventhubs.EventDataBatchOptions{PartitionKey: &deviceID}
	batch, err := producer.NewEventDataBatch(ctx, options)
	if err != nil {
		return err
	}
	contentType := "application/json"
	for _, event := range events {
		body, err := json.Marshal(event)
		if err != nil {
			return err
		}
		data := &azeventhubs.EventData{Body: body, ContentType: &contentType}
		err = batch.AddEventData(data, nil)
		if errors.Is(err, azeventhubs.ErrEventDataTooLarge) && batch.NumEvents() > 0 {
			// The batch is full: send it and start another (an event over 1 MiB fails here alone).
			if err := producer.SendEventDataBatch(ctx, batch, nil); err != nil {
				return err
			}
			if batch, err = producer.NewEventDataBatch(ctx, options); err != nil {
				return err
			}
			err = batch.AddEventData(data, nil)
		}
		if err != nil {
			return err
		}
	}
	if batch.NumEvents() == 0 {
		return nil
	}
	return producer.SendEventDataBatch(ctx, batch, nil)
}

func main() {
	devices := flag.Int("devices", 3, "number of devices")
	perDevice := flag.Int("events", 5, "events per device")
	prefix := flag.String("device-prefix", "go-device", "device id prefix")
	flag.Parse()
	connectionString := os.Getenv("EVENTHUB_CONNECTION_STRING")
	if connectionString == "" {
		log.Fatal("set EVENTHUB_CONNECTION_STRING (with EntityPath, or set EVENTHUB_NAME)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The hub comes from the connection string's EntityPath, else EVENTHUB_NAME (the SDK refuses both at once).
	hub := ""
	if !strings.Contains(strings.ToLower(connectionString), "entitypath=") {
		hub = os.Getenv("EVENTHUB_NAME")
	}
	producer, err := azeventhubs.NewProducerClientFromConnectionString(connectionString, hub, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close(ctx)
	for n := 0; n < *devices; n++ {
		deviceID := fmt.Sprintf("%s-%d", *prefix, n)
		events := make([]DeviceEvent, *perDevice)
		for i := range events {
			events[i] = DeviceEvent{
				DeviceID: deviceID,
				EventID:  newEventID(),
				Type:     "telemetry",
				TS:       time.Now().UTC().Format(time.RFC3339Nano),
				Payload:  map[string]any{"temperatureC": 18 + float64(i)/10},
			}
		}
		if err := sendDeviceEvents(ctx, producer, deviceID, events); err != nil {
			log.Fatalf("device %s: %v", deviceID, err)
		}
	}
	fmt.Printf("sent %d events for %d devices\n", *devices**perDevice, *devices)
}
