"""registry_consume.py — the consumer of test_schema_registry.sh that knows nothing of this
project: confluent-kafka's Consumer with its AvroDeserializer, whose only source of schemas is
the schema registry (SchemaRegistryClient, the Confluent API). Reads the topic from the start to
its end and prints one JSON document:
  {"records": N, "tombstones": T, "ids": [schema ids seen in the frames],
   "events": [{"key", "partition", "offset", "id", "username", "firstName", "lastName",
               "version", "eventType"} ...] (a tombstone has only key, partition, offset)}
Usage: registry_consume.py BOOTSTRAP TOPIC REGISTRY_URL
Exits 1 naming the record when one does not decode."""
import json
import struct
import sys
import uuid

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main():
    bootstrap, topic, registry = sys.argv[1:4]
    decode = AvroDeserializer(SchemaRegistryClient({"url": registry}))
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "registry-consume-%s" % uuid.uuid4(),
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "enable.partition.eof": True})
    meta = consumer.list_topics(topic, timeout=10)
    parts = sorted(meta.topics[topic].partitions)
    ends = {}
    for p in parts:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends[p] = high
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    todo = {p for p in parts if ends[p] > 0}
    out = {"records": 0, "tombstones": 0, "ids": [], "events": []}
    ids = set()
    while todo:
        msg = consumer.poll(10)
        if msg is None:
            sys.exit("no record within 10 s; partitions left: %s" % sorted(todo))
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                todo.discard(msg.partition())
                continue
            sys.exit("consumer error: %s" % msg.error())
        where = "partition %d offset %d" % (msg.partition(), msg.offset())
        ev = {"key": msg.key().decode() if msg.key() else None, "partition": msg.partition(),
              "offset": msg.offset()}
        if msg.value() is None:
            out["tombstones"] += 1
        else:
            raw = msg.value()
            if len(raw) < 5 or raw[0] != 0:
                sys.exit("%s: not a Confluent frame" % where)
            ev["id"] = struct.unpack(">i", raw[1:5])[0]
            ids.add(ev["id"])
            try:
                val = decode(raw, SerializationContext(topic, MessageField.VALUE))
            except Exception as e:  # the deserializer's errors have no common base
                sys.exit("%s (schema id %d): does not decode: %s" % (where, ev["id"], e))
            ev.update({"customerId": str(val["id"]), "username": val["username"], "firstName": val["firstName"],
                       "lastName": val["lastName"], "version": val["version"], "eventType": val["eventType"]})
            out["records"] += 1
        out["events"].append(ev)
        if msg.offset() + 1 >= ends[msg.partition()]:
            todo.discard(msg.partition())
    consumer.close()
    out["ids"] = sorted(ids)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
