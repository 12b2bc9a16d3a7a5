import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.QuorumInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TopicListing;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.ElectionNotNeededException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileWriter;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * moat's side of a Kafka twin, on Kafka's own Java clients (the jars the brokers run).
 *
 * admin BOOTSTRAP: one JSON command per stdin line, one JSON answer per stdout line (same id).
 *   describe {topics?}: brokers, active controller (KRaft quorum leader) and every partition's
 *     leader, replicas and ISR; create {topics:[{name,partitions,replicationFactor,configs}]};
 *   move {topic,partition,to}: reorder the replicas so `to` comes first, then a preferred leader
 *     election; answers once the partition is led by `to` (or with the error).
 * load CONFIG_JSON: an idempotent acks=all producer at a fixed arrival rate (open model, latency
 *   from the due time) and a consumer group. Every request goes to the requests file, every
 *   acknowledgement to the ack file. On "stop" (stdin) it stops producing, lets the group catch up,
 *   then reads every partition from the start and prints one JSON result line with lost,
 *   duplicated and reordered messages per partition.
 */
public final class MoatKafkaAgent {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final PrintStream OUT = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

  public static void main(String[] args) throws Exception {
    System.setOut(System.err); // the clients' own prints must not mix with the protocol
    if (args.length == 2 && args[0].equals("admin")) admin(args[1]);
    else if (args.length == 2 && args[0].equals("load")) load((ObjectNode) JSON.readTree(args[1]));
    else {
      System.err.println("usage: MoatKafkaAgent admin BOOTSTRAP | load CONFIG_JSON");
      System.exit(2);
    }
  }

  // ---------------------------------------------------------------- admin

  private static void admin(String bootstrap) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "4000");
    props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "50");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
    props.put(AdminClientConfig.METADATA_MAX_AGE_CONFIG, "1000");
    try (Admin admin = Admin.create(props)) {
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      // commands run one at a time in arrival order, on a small pool so a slow move does not stall describes
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isBlank()) continue;
        JsonNode command = JSON.readTree(line);
        pool.submit(() -> answer(admin, command));
      }
      pool.shutdown();
      pool.awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  private static void answer(Admin admin, JsonNode command) {
    ObjectNode reply = JSON.createObjectNode();
    reply.put("id", command.path("id").asLong());
    long started = System.nanoTime();
    try {
      switch (command.path("op").asText()) {
        case "describe" -> describe(admin, command, reply);
        case "create" -> create(admin, command, reply);
        case "move" -> move(admin, command, reply);
        default -> throw new IllegalArgumentException("unknown op " + command.path("op").asText());
      }
      reply.put("ok", true);
    } catch (Throwable error) {
      Throwable cause = error instanceof ExecutionException && error.getCause() != null ? error.getCause() : error;
      reply.put("ok", false);
      reply.put("error", cause.getClass().getSimpleName() + ": " + cause.getMessage());
    }
    reply.put("ms", (System.nanoTime() - started) / 1_000_000.0);
    synchronized (OUT) {
      OUT.println(reply);
    }
  }

  private static void describe(Admin admin, JsonNode command, ObjectNode reply) throws Exception {
    var cluster = admin.describeCluster();
    var quorum = admin.describeMetadataQuorum().quorumInfo();
    Collection<Node> nodes = cluster.nodes().get(4, TimeUnit.SECONDS);
    ArrayNode brokers = reply.putArray("brokers");
    for (Node node : nodes) brokers.add(node.id());
    try {
      QuorumInfo info = quorum.get(4, TimeUnit.SECONDS);
      reply.put("controller", info.leaderId());
      reply.put("controllerEpoch", info.leaderEpoch());
      ObjectNode lags = reply.putObject("voterLag");
      long end = info.highWatermark();
      for (QuorumInfo.ReplicaState voter : info.voters()) lags.put(String.valueOf(voter.replicaId()), Math.max(0, end - voter.logEndOffset()));
    } catch (ExecutionException error) {
      reply.put("controller", -1);
      reply.put("controllerError", String.valueOf(error.getCause()));
    }
    Set<String> topics = new HashSet<>();
    if (command.has("topics")) for (JsonNode t : command.get("topics")) topics.add(t.asText());
    else for (TopicListing listing : admin.listTopics().listings().get(4, TimeUnit.SECONDS)) topics.add(listing.name());
    ArrayNode partitions = reply.putArray("partitions");
    if (topics.isEmpty()) return;
    Map<String, TopicDescription> described = admin.describeTopics(topics).allTopicNames().get(4, TimeUnit.SECONDS);
    for (TopicDescription topic : new TreeMap<>(described).values()) {
      for (TopicPartitionInfo p : topic.partitions()) {
        ObjectNode row = partitions.addObject();
        row.put("topic", topic.name());
        row.put("partition", p.partition());
        row.put("leader", p.leader() == null || p.leader().isEmpty() ? -1 : p.leader().id());
        ArrayNode replicas = row.putArray("replicas");
        for (Node n : p.replicas()) replicas.add(n.id());
        ArrayNode isr = row.putArray("isr");
        for (Node n : p.isr()) isr.add(n.id());
      }
    }
  }

  private static void create(Admin admin, JsonNode command, ObjectNode reply) throws Exception {
    List<NewTopic> topics = new ArrayList<>();
    for (JsonNode t : command.get("topics")) {
      NewTopic topic = new NewTopic(t.get("name").asText(), t.get("partitions").asInt(), (short) t.get("replicationFactor").asInt());
      Map<String, String> configs = new HashMap<>();
      t.path("configs").fields().forEachRemaining(e -> configs.put(e.getKey(), e.getValue().asText()));
      topic.configs(configs);
      topics.add(topic);
    }
    admin.createTopics(topics).all().get(15, TimeUnit.SECONDS);
  }

  private static void move(Admin admin, JsonNode command, ObjectNode reply) throws Exception {
    String topic = command.get("topic").asText();
    int partition = command.get("partition").asInt();
    int to = command.get("to").asInt();
    TopicPartition tp = new TopicPartition(topic, partition);
    TopicPartitionInfo info = admin.describeTopics(List.of(topic)).allTopicNames().get(4, TimeUnit.SECONDS).get(topic).partitions().get(partition);
    List<Integer> order = new ArrayList<>();
    order.add(to);
    for (Node n : info.replicas()) if (n.id() != to) order.add(n.id());
    long t0 = System.nanoTime();
    admin.alterPartitionReassignments(Map.of(tp, Optional.of(new NewPartitionReassignment(order)))).all().get(8, TimeUnit.SECONDS);
    // a reorder of the same replica set completes at once; wait until the new order is visible
    waitUntil(8_000, () -> {
      TopicPartitionInfo now = admin.describeTopics(List.of(topic)).allTopicNames().get(4, TimeUnit.SECONDS).get(topic).partitions().get(partition);
      return !now.replicas().isEmpty() && now.replicas().get(0).id() == to;
    });
    try {
      admin.electLeaders(ElectionType.PREFERRED, Set.of(tp)).partitions().get(8, TimeUnit.SECONDS).get(tp).ifPresent(e -> {
        if (!(e instanceof ElectionNotNeededException)) throw new RuntimeException(e);
      });
    } catch (ExecutionException error) {
      if (!(error.getCause() instanceof ElectionNotNeededException)) throw error;
    }
    long elected = System.nanoTime();
    waitUntil(8_000, () -> {
      TopicPartitionInfo now = admin.describeTopics(List.of(topic)).allTopicNames().get(4, TimeUnit.SECONDS).get(topic).partitions().get(partition);
      return now.leader() != null && now.leader().id() == to;
    });
    reply.put("from", info.leader() == null ? -1 : info.leader().id());
    reply.put("to", to);
    reply.put("electedMs", (elected - t0) / 1_000_000.0);
    reply.put("ledMs", (System.nanoTime() - t0) / 1_000_000.0);
  }

  private interface Check {
    boolean ok() throws Exception;
  }

  private static void waitUntil(long timeoutMs, Check check) throws Exception {
    long deadline = System.nanoTime() + timeoutMs * 1_000_000;
    while (!check.ok()) {
      if (System.nanoTime() > deadline) throw new IllegalStateException("not done after " + timeoutMs + " ms");
      Thread.sleep(20);
    }
  }

  // ---------------------------------------------------------------- load

  private static final class Acked {
    final int partition;
    final long offset;

    Acked(int partition, long offset) {
      this.partition = partition;
      this.offset = offset;
    }
  }

  /**
   * The open-model schedule of load/executor.ts (ArrivalSchedule), the same arithmetic: a
   * piecewise-linear rate profile, request i due when the rate's integral reaches i, the last
   * rate held after the last point or the profile looped.
   */
  static final class Schedule {
    private final double[] t;
    private final double[] r;
    private final double loopMs;
    private final double perLoop;
    private int k = 0;
    private double before = 0;
    private double loopStart = 0;
    private double loopBefore = 0;
    private long next = 0;

    Schedule(JsonNode profile) {
      JsonNode points = profile.get("points");
      t = new double[points.size()];
      r = new double[points.size()];
      for (int j = 0; j < points.size(); j++) {
        t[j] = points.get(j).get("tMs").asDouble();
        r[j] = Math.max(0, points.get(j).get("perSec").asDouble()) / 1000;
      }
      double total = 0;
      for (int j = 0; j + 1 < t.length; j++) total += (r[j] + r[j + 1]) / 2 * (t[j + 1] - t[j]);
      perLoop = total;
      double loop = profile.path("loopMs").asDouble(0);
      loopMs = loop > 0 && total > 0 ? loop : 0;
    }

    /** The next due time, ms since the start; infinity when no more ever arrive. */
    double next() {
      long target = next++;
      for (;;) {
        if (k + 1 >= t.length) {
          if (loopMs > 0) {
            loopStart += loopMs;
            loopBefore += perLoop;
            before = loopBefore;
            k = 0;
            continue;
          }
          if (r[k] <= 0) return Double.POSITIVE_INFINITY;
          return loopStart + t[k] + (target - before) / r[k];
        }
        double inSegment = (r[k] + r[k + 1]) / 2 * (t[k + 1] - t[k]);
        double want = target - before;
        if (want < inSegment || (want == inSegment && k + 2 >= t.length && loopMs == 0)) {
          return loopStart + t[k] + solve(t[k], r[k], t[k + 1], r[k + 1], want);
        }
        before += inSegment;
        k++;
      }
    }

    private static double solve(double t0, double r0, double t1, double r1, double n) {
      if (n <= 0) return 0;
      double slope = (r1 - r0) / (t1 - t0);
      if (Math.abs(slope) < 1e-15) return n / r0;
      return 2 * n / (r0 + Math.sqrt(Math.max(0, r0 * r0 + 2 * slope * n)));
    }
  }

  private static void load(ObjectNode config) throws Exception {
    String bootstrap = config.get("bootstrap").asText();
    String topic = config.get("topic").asText();
    int partitions = config.get("partitions").asInt();
    Schedule schedule = new Schedule(config.get("profile"));
    int timeoutMs = config.get("timeoutMs").asInt();
    int size = Math.max(32, config.path("messageBytes").asInt(100));
    long clockZero = config.get("clockZeroEpochMs").asLong();
    String tag = config.get("tag").asText();

    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put("max.in.flight.requests.per.connection", "5");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(500, timeoutMs / 2)));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(timeoutMs));
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(timeoutMs));
    p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "50");
    p.put(ProducerConfig.METADATA_MAX_AGE_CONFIG, "5000");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "moat-" + tag);
    KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());

    BufferedWriter requests = new BufferedWriter(new FileWriter(config.get("requestsFile").asText(), StandardCharsets.UTF_8), 1 << 16);
    BufferedWriter acks = new BufferedWriter(new FileWriter(config.get("ackFile").asText(), StandardCharsets.UTF_8), 1 << 16);
    Map<Long, Acked> acked = new ConcurrentHashMap<>();
    Set<Long> attempted = ConcurrentHashMap.newKeySet();
    AtomicBoolean stopping = new AtomicBoolean(false);
    AtomicLong sent = new AtomicLong();

    // consumer group: end-to-end latency from the produce due time, redeliveries, lag
    Properties c = consumerProps(bootstrap, "moat-" + tag);
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    Set<Long> consumed = ConcurrentHashMap.newKeySet();
    AtomicLong redelivered = new AtomicLong();
    AtomicLong lag = new AtomicLong(-1);
    AtomicBoolean consumerDone = new AtomicBoolean(false);
    Thread consumerThread = new Thread(() -> {
      try {
        consumer.subscribe(List.of(topic));
        while (!consumerDone.get()) {
          ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(100));
          long now = System.currentTimeMillis();
          for (ConsumerRecord<byte[], byte[]> r : batch) {
            long[] parsed = parse(r.value());
            if (parsed == null) continue;
            if (!consumed.add(parsed[0])) redelivered.incrementAndGet();
            synchronized (requests) {
              requests.write("consume\t" + (parsed[1] - clockZero) + "\t" + (now - parsed[1]) + "\t1\n");
            }
          }
          long total = 0;
          boolean known = false;
          for (TopicPartition tp : consumer.assignment()) {
            OptionalLong l = consumer.currentLag(tp);
            if (l.isPresent()) {
              total += l.getAsLong();
              known = true;
            }
          }
          lag.set(known ? total : -1);
          if (!batch.isEmpty()) consumer.commitAsync();
        }
        consumer.commitSync(Duration.ofSeconds(3));
      } catch (Exception error) {
        System.err.println("consumer: " + error);
      } finally {
        consumer.close(Duration.ofSeconds(3));
      }
    }, "moat-consumer");
    consumerThread.start();

    Thread lagThread = new Thread(() -> {
      while (!consumerDone.get()) {
        long t = System.currentTimeMillis() - clockZero;
        synchronized (OUT) {
          OUT.println("{\"type\":\"lag\",\"t\":" + t + ",\"lag\":" + lag.get() + "}");
        }
        LockSupport.parkNanos(1_000_000_000L);
      }
    }, "moat-lag");
    lagThread.setDaemon(true);
    lagThread.start();

    // producer: the i-th message is due when the rate's integral reaches i (the executor's
    // schedule, load/executor.ts), whatever happened to the ones before
    Thread producerThread = new Thread(() -> {
      long start = System.nanoTime();
      long startEpoch = System.currentTimeMillis();
      byte[] padding = new byte[size];
      java.util.Arrays.fill(padding, (byte) 'x');
      for (long i = 0; !stopping.get(); i++) {
        double dueMs = schedule.next();
        if (Double.isInfinite(dueMs)) {
          while (!stopping.get()) LockSupport.parkNanos(50_000_000L);
          break;
        }
        long dueNanos = start + (long) (dueMs * 1e6);
        long wait = dueNanos - System.nanoTime();
        if (wait > 0) LockSupport.parkNanos(wait);
        if (stopping.get()) break;
        long lagMs = Math.max(0, (System.nanoTime() - dueNanos) / 1_000_000);
        long dueEpoch = startEpoch + (dueNanos - start) / 1_000_000;
        long seq = i;
        int partition = (int) (i % partitions);
        byte[] head = (seq + ":" + dueEpoch + ":").getBytes(StandardCharsets.US_ASCII);
        byte[] value = java.util.Arrays.copyOf(head, Math.max(size, head.length));
        System.arraycopy(padding, 0, value, head.length, Math.max(0, value.length - head.length));
        attempted.add(seq);
        sent.incrementAndGet();
        try {
          producer.send(new ProducerRecord<>(topic, partition, null, value), (meta, error) -> {
            long latency = System.currentTimeMillis() - dueEpoch;
            try {
              synchronized (requests) {
                requests.write("produce\t" + (dueEpoch - clockZero) + "\t" + latency + "\t" + (error == null ? 1 : 0) + "\t" + lagMs + "\n");
              }
              if (error == null) {
                acked.put(seq, new Acked(meta.partition(), meta.offset()));
                synchronized (acks) {
                  acks.write(seq + "\t" + meta.partition() + "\t" + meta.offset() + "\n");
                }
              }
            } catch (Exception ignored) {
              // the files are evidence; a failed write must not kill the producer's I/O thread
            }
          });
        } catch (Exception error) {
          long latency = System.currentTimeMillis() - dueEpoch;
          try {
            synchronized (requests) {
              requests.write("produce\t" + (dueEpoch - clockZero) + "\t" + latency + "\t0\t" + lagMs + "\n");
            }
          } catch (Exception ignored) {
          }
        }
      }
    }, "moat-producer");
    producerThread.start();
    synchronized (OUT) {
      OUT.println("{\"type\":\"started\"}");
    }

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) if (line.trim().equals("stop")) break;
    stopping.set(true);
    producerThread.join();
    producer.flush();
    producer.close(Duration.ofMillis(timeoutMs));
    // let the group catch up with everything that was acknowledged, for a while
    long catchUp = System.nanoTime() + 15_000_000_000L;
    while (System.nanoTime() < catchUp && !consumed.containsAll(acked.keySet())) Thread.sleep(100);
    consumerDone.set(true);
    consumerThread.join(10_000);
    synchronized (requests) {
      requests.close();
    }
    synchronized (acks) {
      acks.close();
    }

    ObjectNode result = verify(bootstrap, topic, partitions, acked, attempted, tag);
    result.put("type", "result");
    result.put("sent", sent.get());
    result.put("consumed", consumed.size());
    result.put("redelivered", redelivered.get());
    long notConsumed = 0;
    for (Long seq : acked.keySet()) if (!consumed.contains(seq)) notConsumed++;
    result.put("ackedNotConsumed", notConsumed);
    synchronized (OUT) {
      OUT.println(result);
    }
    System.exit(0);
  }

  private static Properties consumerProps(String bootstrap, String group) {
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    if (group != null) c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
    c.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
    c.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
    c.put(ConsumerConfig.RETRY_BACKOFF_MS_CONFIG, "50");
    c.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "5000");
    return c;
  }

  /** "seq:dueEpochMs:padding" → [seq, dueEpochMs]; null for a record moat did not write. */
  private static long[] parse(byte[] value) {
    if (value == null) return null;
    int first = -1, second = -1;
    for (int i = 0; i < value.length && second < 0; i++) {
      if (value[i] == ':') {
        if (first < 0) first = i;
        else second = i;
      }
    }
    if (second < 0) return null;
    try {
      return new long[] {
        Long.parseLong(new String(value, 0, first, StandardCharsets.US_ASCII)),
        Long.parseLong(new String(value, first + 1, second - first - 1, StandardCharsets.US_ASCII)),
      };
    } catch (NumberFormatException error) {
      return null;
    }
  }

  /**
   * Reads every partition from its first offset to its end and compares with the acknowledgements:
   * lost = acknowledged but absent; duplicated = a message present more than once; reordered = a
   * message stored after one that was sent later, in the same partition.
   */
  private static ObjectNode verify(String bootstrap, String topic, int partitions, Map<Long, Acked> acked, Set<Long> attempted, String tag) throws Exception {
    ObjectNode result = JSON.createObjectNode();
    long deadline = System.nanoTime() + 60_000_000_000L;
    Exception last = null;
    while (System.nanoTime() < deadline) {
      try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(consumerProps(bootstrap, null), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
        List<TopicPartition> tps = new ArrayList<>();
        for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(topic, i));
        reader.assign(tps);
        reader.seekToBeginning(tps);
        Map<TopicPartition, Long> ends = reader.endOffsets(tps, Duration.ofSeconds(10));
        Map<Long, Integer> copies = new HashMap<>();
        long[] maxSeq = new long[partitions];
        long[] reordered = new long[partitions];
        long[] records = new long[partitions];
        java.util.Arrays.fill(maxSeq, -1);
        Set<Long> present = new HashSet<>();
        long readDeadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
          boolean done = true;
          for (TopicPartition tp : tps) if (reader.position(tp, Duration.ofSeconds(10)) < ends.get(tp)) done = false;
          if (done) break;
          if (System.nanoTime() > readDeadline) throw new IllegalStateException("read-back did not reach the end offsets in 30 s");
          for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(200))) {
            if (r.offset() >= ends.get(new TopicPartition(r.topic(), r.partition()))) continue;
            long[] parsed = parse(r.value());
            if (parsed == null) continue;
            int part = r.partition();
            records[part]++;
            copies.merge(parsed[0], 1, Integer::sum);
            present.add(parsed[0]);
            if (parsed[0] < maxSeq[part]) reordered[part]++;
            maxSeq[part] = Math.max(maxSeq[part], parsed[0]);
          }
        }
        long[] lost = new long[partitions];
        long[] ackedBy = new long[partitions];
        long[] duplicated = new long[partitions];
        ArrayNode lostSample = result.putArray("lostSample");
        for (Map.Entry<Long, Acked> e : acked.entrySet()) {
          ackedBy[e.getValue().partition]++;
          if (!present.contains(e.getKey())) {
            lost[e.getValue().partition]++;
            if (lostSample.size() < 100) lostSample.add(e.getKey() + "@" + e.getValue().partition + ":" + e.getValue().offset);
          }
        }
        for (Map.Entry<Long, Integer> e : copies.entrySet()) if (e.getValue() > 1) duplicated[(int) (e.getKey() % partitions)] += e.getValue() - 1;
        long indeterminate = 0;
        for (Long seq : attempted) if (!acked.containsKey(seq) && present.contains(seq)) indeterminate++;
        ArrayNode byPartition = result.putArray("partitions");
        long totalLost = 0, totalDup = 0, totalReordered = 0;
        for (int i = 0; i < partitions; i++) {
          ObjectNode row = byPartition.addObject();
          row.put("partition", i);
          row.put("acked", ackedBy[i]);
          row.put("stored", records[i]);
          row.put("lost", lost[i]);
          row.put("duplicated", duplicated[i]);
          row.put("reordered", reordered[i]);
          totalLost += lost[i];
          totalDup += duplicated[i];
          totalReordered += reordered[i];
        }
        result.put("acked", acked.size());
        result.put("lost", totalLost);
        result.put("duplicated", totalDup);
        result.put("reordered", totalReordered);
        result.put("indeterminateApplied", indeterminate);
        return result;
      } catch (Exception error) {
        last = error;
        Thread.sleep(500);
      }
    }
    result.put("readBackError", String.valueOf(last));
    result.put("acked", acked.size());
    return result;
  }
}
