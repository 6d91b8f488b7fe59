package lis.examples;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reads the LIS event topics from the beginning to their current end and prints the number of
 * events per event type, as a downstream Java service would: kafka-clients and Apache Avro only.
 *
 * <p>Every value is Confluent-framed: magic byte 0, a 4-byte big-endian schema id, then Avro
 * binary. The id is the registry's Confluent-API id (an Apicurio content id), so the writer
 * schema is {@code GET <registry>/schemas/ids/<id>}. Delivery is at least once: a redelivered
 * event repeats its {@code metadata.event_id}, so events are counted once per id.
 */
public final class CountDay {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private final String registry;
    private final Map<Integer, GenericDatumReader<GenericRecord>> readers = new HashMap<>();

    private CountDay(String registry) {
        this.registry = registry.replaceAll("/+$", "");
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opts.put(args[i], args[i + 1]);
        }
        String bootstrap = opts.getOrDefault("--bootstrap", "127.0.0.1:9092");
        String registry = opts.getOrDefault("--registry", "http://127.0.0.1:8081/apis/ccompat/v7");
        String topics = opts.get("--topics");
        if (topics == null) {
            System.err.println("usage: CountDay --topics t1,t2 [--bootstrap H:P] [--registry URL]");
            System.exit(2);
        }
        new CountDay(registry).run(bootstrap, List.of(topics.split(",")));
    }

    private void run(String bootstrap, List<String> topics) throws Exception {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, Integer> counts = new TreeMap<>();
        Set<String> seen = new HashSet<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(
                props, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics) {
                for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
                    partitions.add(new TopicPartition(topic, p.partition()));
                }
            }
            // Assigned, not subscribed: an example that reads a day joins no consumer group.
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            while (!reachedEnd(consumer, end)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("topics not read to their end in 5 minutes");
                }
                for (ConsumerRecord<String, byte[]> rec : consumer.poll(Duration.ofMillis(500))) {
                    GenericRecord meta = (GenericRecord) decode(rec.value()).get("metadata");
                    if (seen.add(meta.get("event_id").toString())) {
                        counts.merge(meta.get("event_type").toString(), 1, Integer::sum);
                    }
                }
            }
        }
        int total = 0;
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            System.out.printf("%-28s %d%n", e.getKey(), e.getValue());
            total += e.getValue();
        }
        System.out.printf("%-28s %d%n", "total", total);
    }

    private static boolean reachedEnd(
            KafkaConsumer<String, byte[]> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private GenericRecord decode(byte[] value) throws Exception {
        ByteBuffer buf = ByteBuffer.wrap(value);
        if (buf.get() != 0) {
            throw new IllegalArgumentException("not Confluent-framed Avro (magic byte)");
        }
        int id = buf.getInt();
        GenericDatumReader<GenericRecord> reader = readers.get(id);
        if (reader == null) {
            reader = new GenericDatumReader<>(writerSchema(id));
            readers.put(id, reader);
        }
        BinaryDecoder in = DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null);
        return reader.read(null, in);
    }

    private Schema writerSchema(int id) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(registry + "/schemas/ids/" + id))
                .timeout(Duration.ofSeconds(10))
                .header("Accept", "application/vnd.schemaregistry.v1+json")
                .build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("schema " + id + ": HTTP " + response.statusCode());
        }
        String text = JSON.readTree(response.body()).get("schema").asText();
        // A parser per schema: every event schema defines lis.EventMetadata again.
        return new Schema.Parser().parse(text);
    }
}
