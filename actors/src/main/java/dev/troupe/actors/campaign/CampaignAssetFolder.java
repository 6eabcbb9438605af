package dev.troupe.actors.campaign;

import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.policy.grpc.BaseModelFiles;
import dev.troupe.protocol.AssetFile;
import dev.troupe.protocol.CampaignAssets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The files a worker node loads to serve a campaign, gathered under {@code <run>/assets} as links to
 * where the setup left them (no copy of a large base): {@code base/}, {@code tokenizer/tokenizer.json}
 * and, when the campaign has one, {@code reward-model/adapter/} and {@code reward-model/head/}. The
 * coordinator's gRPC server hands them out (PolicyService.FetchBase) to nodes whose cache lacks them.
 */
public final class CampaignAssetFolder {
  private CampaignAssetFolder() {}

  /** {@code <run>/assets}: created empty when missing, so its server can start before the setup ends. */
  public static Path of(Path runDir) throws IOException {
    return Files.createDirectories(runDir.resolve("assets"));
  }

  /**
   * Links the campaign's files (after its setup) under the asset folder and describes them: the
   * returned assets lack the campaign id and the server's address, which the caller knows.
   */
  public static CampaignAssets.Builder gather(Path runDir, CampaignConfig config, boolean rewardModel)
      throws IOException {
    Path assets = of(runDir);
    clear(assets);
    Path base;
    Path tokenizer;
    Path rm;
    if (config.isQuickstart()) {
      base = runDir.resolve("base");
      tokenizer = runDir.resolve("tokenizer").resolve("tokenizer.json");
      rm = runDir.resolve("reward-model");
    } else {
      base = Path.of(config.baseModel().path());
      tokenizer = base.resolve("tokenizer.json");
      rm = rewardModel ? Path.of(config.rewardModel().path()) : null;
    }
    link(base, assets.resolve("base"));
    Files.createDirectories(assets.resolve("tokenizer"));
    Files.createSymbolicLink(assets.resolve("tokenizer").resolve("tokenizer.json"), tokenizer.toAbsolutePath());
    if (rewardModel) {
      link(rm.resolve("adapter"), assets.resolve("reward-model").resolve("adapter"));
      link(rm.resolve("head"), assets.resolve("reward-model").resolve("head"));
    }
    BaseModelFiles files = new BaseModelFiles(assets);
    CampaignAssets.Builder out = CampaignAssets.newBuilder().setBaseDtype(config.baseModel().dtype())
        .setBaseQuantize(config.baseModel().quantize()).setRewardModel(rewardModel);
    for (String path : files.list()) {
      BaseModelFiles.FileInfo info = files.info(path);
      out.addFiles(AssetFile.newBuilder().setPath(info.path()).setBytes(info.bytes()).setSha256(info.sha256()));
    }
    return out;
  }

  /** A link under {@code to} for every regular file under {@code from}, in the same layout. */
  private static void link(Path from, Path to) throws IOException {
    if (!Files.isDirectory(from)) {
      throw new IOException("the campaign's files are not where its setup left them: no folder " + from);
    }
    try (Stream<Path> files = Files.walk(from)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Path link = to.resolve(from.relativize(file).toString());
        Files.createDirectories(link.getParent());
        Files.createSymbolicLink(link, file.toAbsolutePath());
      }
    }
  }

  private static void clear(Path assets) throws IOException {
    try (Stream<Path> paths = Files.walk(assets)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        if (!p.equals(assets)) {
          Files.delete(p);
        }
      }
    }
  }
}
