package dev.troupe.kubernetes;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.troupe.actors.node.BootstrapJoin;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code troupe node --bootstrap METHOD}: the member starts Pekko Management's HTTP endpoint and its
 * cluster bootstrap, which finds the other members through the discovery method (the Kubernetes API
 * on Kubernetes), probes their management endpoints and, once enough of them agree, joins the one
 * with the lowest address, or forms the cluster when none has yet.
 */
public final class PekkoClusterBootstrap implements BootstrapJoin {
  private static final Logger LOG = LoggerFactory.getLogger(PekkoClusterBootstrap.class);

  @Override
  public Config config() {
    return ConfigFactory.parseResources(PekkoClusterBootstrap.class.getClassLoader(), "troupe-kubernetes.conf");
  }

  @Override
  public void start(ActorSystem<?> system, String discoveryMethod) {
    PekkoManagement.get(system).start().whenComplete((uri, error) -> {
      if (error != null) {
        LOG.error("Pekko Management did not start: {}", error.getMessage());
      } else {
        LOG.info("Pekko Management at {}; cluster bootstrap through {} discovery", uri, discoveryMethod);
      }
    });
    ClusterBootstrap.get(system).start();
  }
}
