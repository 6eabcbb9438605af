package dev.troupe.actors.node;

import ai.djl.ndarray.NDManager;
import com.typesafe.config.Config;
import dev.troupe.actors.campaign.CampaignEvents;
import dev.troupe.actors.campaign.CampaignRewardModels;
import dev.troupe.actors.campaign.Normalization;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.policy.PolicyService;
import dev.troupe.policy.PolicyWorker;
import dev.troupe.policy.grpc.BaseModelFiles;
import dev.troupe.policy.grpc.PolicyClient;
import dev.troupe.policy.grpc.PolicyGrpcService;
import dev.troupe.protocol.AssetFile;
import dev.troupe.protocol.AttachReply;
import dev.troupe.protocol.CampaignAssets;
import dev.troupe.protocol.WorkerEndpoint;
import dev.troupe.protocol.grpc.ClientSettings;
import dev.troupe.protocol.grpc.GrpcServer;
import dev.troupe.protocol.grpc.ServerSettings;
import dev.troupe.protocol.wire.WireMessage;
import dev.troupe.reward.RewardService;
import dev.troupe.reward.RewardWorker;
import dev.troupe.reward.grpc.RewardGrpcService;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * A cluster member's policy and reward roles: it waits to be attached to a campaign by the campaign's
 * guardian, then fetches the campaign's files its cache lacks (from the coordinator's gRPC server,
 * checksummed), loads the base once for both roles, starts its gRPC data plane and registers its
 * workers with the receptionist, where the coordinator's pools find them. Attached again to the same
 * campaign (a coordinator that restarted) it keeps serving as it was.
 */
public final class WorkerNode extends AbstractBehavior<WorkerNode.Command> {
  public interface Command {}

  public record Attach(CampaignAssets assets, ActorRef<AttachReply> replyTo) implements Command, WireMessage {}

  private record Loaded(CampaignAssets assets, Served served, int fetched, Throwable error) implements Command {}

  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "troupe-worker-node");

  /** What this node was started with: its roles, where its data plane listens, where it caches files. */
  public record Settings(boolean policy, boolean reward, String host, int grpcPort, Path cacheDir, String name,
      Config config, CampaignEvents events) {}

  /** A campaign being served: the base, the services over it, their server and workers. */
  private record Served(NDManager root, CausalLm model, Tokenizer tokenizer, PolicyService policy,
      RewardService reward, GrpcServer server) implements AutoCloseable {
    @Override
    public void close() {
      if (server != null) {
        server.close();
      }
      if (policy != null) {
        policy.close();
      }
      if (reward != null) {
        reward.close();
      }
      model.close();
      tokenizer.close();
      root.close();
    }
  }

  private static final Duration TRANSFER_DEADLINE = Duration.ofMinutes(30);

  private final Settings settings;
  private final Executor io;
  private String campaign;
  private String loading;
  private final List<ActorRef<AttachReply>> waiting = new ArrayList<>();
  private Served served;
  private final List<ActorRef<?>> workers = new ArrayList<>();

  public static Behavior<Command> create(Settings settings) {
    return Behaviors.setup(ctx -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
      return new WorkerNode(ctx, settings);
    });
  }

  private WorkerNode(ActorContext<Command> context, Settings settings) {
    super(context);
    this.settings = settings;
    this.io = context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("troupe.io-dispatcher"));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Attach.class, this::onAttach)
        .onMessage(Loaded.class, this::onLoaded)
        .onSignal(PostStop.class, signal -> {
          release();
          return this;
        })
        .build();
  }

  private Behavior<Command> onAttach(Attach m) {
    String id = m.assets().getCampaignId();
    if (id.equals(campaign)) {
      m.replyTo().tell(AttachReply.newBuilder().setOk(true).setNode(settings.name()).setAlreadyAttached(true).build());
      return this;
    }
    waiting.add(m.replyTo());
    if (id.equals(loading)) {
      return this;
    }
    release();
    loading = id;
    getContext().getLog().info("attaching to campaign {}: fetching what the cache lacks from {}:{}", id,
        m.assets().getAssetHost(), m.assets().getAssetPort());
    CampaignAssets assets = m.assets();
    ActorRef<Command> self = getContext().getSelf();
    Executor tensors = getContext().getSystem().dispatchers().lookup(
        DispatcherSelector.fromConfig(PolicyWorker.TENSOR_DISPATCHER));
    CompletableFuture.supplyAsync(() -> load(assets, tensors), io).whenComplete((loaded, error) ->
        self.tell(error != null ? new Loaded(assets, null, 0, error) : loaded));
    return this;
  }

  private Behavior<Command> onLoaded(Loaded m) {
    if (!m.assets().getCampaignId().equals(loading)) {
      if (m.served() != null) {
        m.served().close(); // a campaign this node was attached to meanwhile replaced it
      }
      return this;
    }
    loading = null;
    if (m.error() != null) {
      Throwable cause = m.error().getCause() != null && m.error() instanceof java.util.concurrent.CompletionException
          ? m.error().getCause() : m.error();
      getContext().getLog().error("could not attach to campaign {}", m.assets().getCampaignId(), cause);
      settings.events().notice("could not attach to campaign " + m.assets().getCampaignId() + ": " + cause.getMessage());
      reply(AttachReply.newBuilder().setOk(false).setNode(settings.name()).setError(settings.name()
          + " could not load the campaign's files: " + cause.getMessage()).build());
      return this;
    }
    served = m.served();
    campaign = m.assets().getCampaignId();
    WorkerEndpoint endpoint = WorkerEndpoint.newBuilder().setWorker(settings.name()).setHost(settings.host())
        .setGrpcPort(served.server().port()).build();
    if (served.policy() != null) {
      ActorRef<PolicyWorker.Command> worker = getContext().spawn(PolicyWorker.create(served.policy(),
          PolicyWorker.TENSOR_DISPATCHER, endpoint), "policy");
      getContext().getSystem().receptionist().tell(Receptionist.register(PolicyWorker.KEY, worker));
      workers.add(worker);
    }
    if (served.reward() != null) {
      ActorRef<RewardWorker.Command> worker = getContext().spawn(RewardWorker.create(served.reward(),
          PolicyWorker.TENSOR_DISPATCHER, endpoint), "reward");
      getContext().getSystem().receptionist().tell(Receptionist.register(RewardWorker.KEY, worker));
      workers.add(worker);
    }
    String roles = served.policy() != null && served.reward() != null ? "policy and reward"
        : served.policy() != null ? "policy" : "reward";
    settings.events().notice("serving campaign " + campaign + " (" + roles + ") with its data plane on "
        + settings.host() + ":" + served.server().port() + " (" + m.fetched() + " of " + needed(m.assets()).size()
        + " files fetched from the coordinator)");
    reply(AttachReply.newBuilder().setOk(true).setNode(settings.name()).setFilesFetched(m.fetched()).build());
    return this;
  }

  private void reply(AttachReply reply) {
    waiting.forEach(r -> r.tell(reply));
    waiting.clear();
  }

  /** Stops serving the current campaign: its workers first, then what they used. */
  private void release() {
    for (ActorRef<?> worker : workers) {
      getContext().stop(worker);
    }
    workers.clear();
    if (served != null) {
      served.close();
      served = null;
    }
    campaign = null;
  }

  /** Fetches the files the cache lacks, loads the base (once, for both roles) and starts the data plane. */
  private Loaded load(CampaignAssets assets, Executor tensors) {
    Path dir = settings.cacheDir().resolve(assets.getCampaignId().replaceAll("[^A-Za-z0-9_.-]", "_"));
    int fetched;
    try {
      fetched = fetchMissing(assets, needed(assets), dir, settings.config());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    NDManager root = NDManager.newBaseManager();
    CausalLm model = null;
    Tokenizer tokenizer = null;
    PolicyService policy = null;
    RewardService reward = null;
    try {
      model = HfModel.load(dir.resolve("base"), new HfModel.LoadOptions(HfModel.LoadOptions.parseDtype(
          assets.getBaseDtype()), Quantization.parse(assets.getBaseQuantize())), root);
      tokenizer = Tokenizer.load(dir.resolve("tokenizer").resolve("tokenizer.json"));
      if (settings.policy()) {
        policy = new PolicyService(model, tokenizer, settings.name(), assets.getCampaignId() + "/",
            Math.max(1, assets.getAdapterVersionsKept()), PolicyService.Batching.of(settings.config()));
      }
      if (settings.reward()) {
        reward = new RewardService();
        RewardModel campaignModel = null;
        if (assets.getRewardModel()) {
          Adapter adapter = model.register(PeftAdapters.load(dir.resolve("reward-model").resolve("adapter"),
              "reward-model", model));
          campaignModel = new RewardModel(model, adapter, RewardHead.load(dir.resolve("reward-model").resolve("head"),
              root));
        }
        CampaignRewardModels.serve(reward, model, campaignModel, Normalization.of(assets),
            assets.getLoopRewardModelsList());
      }
      ServerSettings server = ServerSettings.fromConfig(settings.config()).withPort(settings.grpcPort());
      server = new ServerSettings(settings.host(), server.port(), server.maxMessageBytes(), server.certificateChain(),
          server.privateKey());
      List<io.grpc.ServerServiceDefinition> services = new ArrayList<>();
      if (policy != null) {
        services.add(new PolicyGrpcService(policy, tensors, dir.resolve("base"),
            PolicyGrpcService.DEFAULT_MAX_ADAPTER_BYTES, server.maxMessageBytes()).bindService());
      }
      if (reward != null) {
        services.add(new RewardGrpcService(reward, null, tensors, RewardGrpcService.DEFAULT_MAX_MODEL_BYTES)
            .bindService());
      }
      GrpcServer grpc = GrpcServer.start(server, services);
      return new Loaded(assets, new Served(root, model, tokenizer, policy, reward, grpc), fetched, null);
    } catch (IOException | RuntimeException e) {
      if (policy != null) {
        policy.close();
      }
      if (reward != null) {
        reward.close();
      }
      if (model != null) {
        model.close();
      }
      if (tokenizer != null) {
        tokenizer.close();
      }
      root.close();
      throw e instanceof IOException io ? new java.io.UncheckedIOException(io) : (RuntimeException) e;
    }
  }

  /** The files whose copy in the cache is missing or differs (size, sha-256), fetched; how many. */
  /** The files this node's roles load: a policy-only node has no use for the reward model's. */
  private List<AssetFile> needed(CampaignAssets assets) {
    return assets.getFilesList().stream().filter(f -> settings.reward() || !f.getPath().startsWith("reward-model/"))
        .toList();
  }

  static int fetchMissing(CampaignAssets assets, List<AssetFile> needed, Path dir, Config config) throws IOException {
    Files.createDirectories(dir);
    BaseModelFiles cached = new BaseModelFiles(dir);
    List<String> missing = new ArrayList<>();
    for (AssetFile file : needed) {
      Path local = dir.resolve(file.getPath());
      boolean same = Files.isRegularFile(local) && Files.size(local) == file.getBytes()
          && cached.info(file.getPath()).sha256().equals(file.getSha256());
      if (!same) {
        missing.add(file.getPath());
      }
    }
    if (!missing.isEmpty()) {
      try (PolicyClient client = new PolicyClient(ClientSettings.fromConfig(config, assets.getAssetHost(),
          assets.getAssetPort()))) {
        client.fetchBase(dir, missing, TRANSFER_DEADLINE);
      }
    }
    return missing.size();
  }
}
