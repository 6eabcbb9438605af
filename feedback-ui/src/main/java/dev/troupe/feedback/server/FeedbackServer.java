package dev.troupe.feedback.server;

import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.feedback.FeedbackCollector;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.feedback.dashboard.Dashboard;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.Cookie;
import org.apache.pekko.http.javadsl.model.headers.HttpCookiePair;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The feedback UI's HTTP server (Pekko HTTP): the JSON API under /api/ ({@link Api}), the rater page
 * at /, the dashboard at /admin, their scripts under /static/ and libraries under /webjars/. Secure by
 * default: every answer carries a strict Content-Security-Policy (no inline script, no framing) and
 * nosniff; no CORS header is ever sent; a request body over {@link #MAX_BODY_BYTES} gets a 413.
 */
public final class FeedbackServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FeedbackServer.class);
  /** The largest request body accepted (a label with a long rewrite fits many times over). */
  public static final long MAX_BODY_BYTES = 1_000_000;
  private static final Duration BODY_TIMEOUT = Duration.ofSeconds(20);
  private static final Pattern STATIC_PATH = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");
  static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
      + " connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
  private static final List<HttpHeader> SECURITY_HEADERS = List.of(
      RawHeader.create("Content-Security-Policy", CONTENT_SECURITY_POLICY),
      RawHeader.create("X-Content-Type-Options", "nosniff"),
      RawHeader.create("X-Frame-Options", "DENY"),
      RawHeader.create("Referrer-Policy", "no-referrer"),
      RawHeader.create("Cross-Origin-Opener-Policy", "same-origin"),
      RawHeader.create("Cross-Origin-Resource-Policy", "same-origin"));

  private final ServerBinding binding;
  private final URI url;

  private FeedbackServer(ServerBinding binding, URI url) {
    this.binding = binding;
    this.url = url;
  }

  /**
   * Binds on {@code host:port} (port 0: a free one) in {@code system} and serves {@code store};
   * {@code collector} gives the feedback collector, or null while the campaign is still setting up.
   *
   * @throws IllegalStateException naming the address when it cannot be bound
   */
  public static FeedbackServer start(ActorSystem<?> system, CampaignStore store,
      Supplier<ActorRef<FeedbackCollector.Command>> collector, CampaignConfig config, String host, int port) {
    Executor io = system.dispatchers().lookup(DispatcherSelector.fromConfig("troupe.io-dispatcher"));
    Api api = new Api(system, store, collector, new Dashboard(store, config), io);
    Materializer materializer = Materializer.matFromSystem(system);
    ServerBinding binding;
    try {
      binding = Http.get(system).newServerAt(host, port)
          .adaptSettings(s -> s.withRemoteAddressAttribute(true)
              .withParserSettings(s.getParserSettings().withMaxContentLength(MAX_BODY_BYTES)))
          .bind((org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>>)
              request -> handle(api, request, materializer))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("the feedback UI cannot listen on " + host + ":" + port + ": "
          + e.getCause().getMessage() + " (set troupe.campaign.ui.port, or 0 for any free port)", e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the feedback UI did not bind " + host + ":" + port + " within 30 s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while binding the feedback UI", e);
    }
    InetSocketAddress bound = binding.localAddress();
    String shownHost = host.contains(":") ? "[" + host + "]" : host;
    URI url = URI.create("http://" + shownHost + ":" + bound.getPort() + "/");
    log.info("feedback UI at {}", url);
    return new FeedbackServer(binding, url);
  }

  /** The address raters open, e.g. http://127.0.0.1:8080/. */
  public URI url() {
    return url;
  }

  @Override
  public void close() {
    try {
      binding.terminate(Duration.ofSeconds(5)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("stopping the feedback UI at {}: {}", url, e.getMessage());
    }
  }

  // ---------------------------------------------------------------- requests

  private static CompletionStage<HttpResponse> handle(Api api, HttpRequest request, Materializer materializer) {
    String path = request.getUri().path();
    String method = request.method().value();
    CompletionStage<HttpResponse> response;
    if (path.startsWith("/api/")) {
      response = api(api, request, method, path, materializer);
    } else if (method.equals("GET") || method.equals("HEAD")) {
      request.discardEntityBytes(materializer);
      response = CompletableFuture.completedFuture(staticFile(path));
    } else {
      request.discardEntityBytes(materializer);
      response = CompletableFuture.completedFuture(error(405, "method not allowed"));
    }
    return response.thenApply(r -> r.addHeaders(SECURITY_HEADERS));
  }

  private static CompletionStage<HttpResponse> api(Api api, HttpRequest request, String method, String path,
      Materializer materializer) {
    java.util.OptionalLong declared = request.entity().getContentLengthOption();
    if (declared.isPresent() && declared.getAsLong() > MAX_BODY_BYTES) {
      request.discardEntityBytes(materializer);
      return CompletableFuture.completedFuture(tooLarge());
    }
    CompletionStage<String> body = method.equals("GET") || method.equals("HEAD")
        ? request.discardEntityBytes(materializer).completionStage().thenApply(done -> "")
        : request.entity().toStrict(BODY_TIMEOUT.toMillis(), MAX_BODY_BYTES, materializer)
            .thenApply(strict -> strict.getData().utf8String());
    Map<String, String> query = new HashMap<>(request.getUri().query().toMap());
    String token = null;
    for (HttpHeader h : request.getHeaders()) {
      if (h instanceof Cookie cookie) {
        for (HttpCookiePair pair : cookie.getCookies()) {
          if (pair.name().equals(Api.SESSION_COOKIE)) {
            token = pair.value();
          }
        }
      }
    }
    String csrf = request.getHeader(Api.CSRF_HEADER).map(HttpHeader::value).orElse(null);
    String address = request.getAttribute(AttributeKeys.remoteAddress)
        .flatMap(a -> a.getAddress().map(java.net.InetAddress::getHostAddress)).orElse("unknown");
    String sessionToken = token;
    return body.thenCompose(text -> api.handle(new Api.Request(method, path, query, text, sessionToken, csrf, address)))
        .thenApply(FeedbackServer::response)
        .exceptionally(error -> {
          Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
              ? error.getCause() : error;
          if (cause instanceof EntityStreamSizeException || (cause instanceof org.apache.pekko.http.scaladsl.model.EntityStreamException
              && String.valueOf(cause.getMessage()).contains("exceeds"))) {
            return tooLarge();
          }
          log.warn("{} {}: reading the request failed: {}", method, path, cause.toString());
          return error(400, "body: could not be read (" + cause.getClass().getSimpleName() + ")");
        });
  }

  private static HttpResponse tooLarge() {
    return error(413, "body: larger than " + MAX_BODY_BYTES + " bytes").addHeader(RawHeader.create("Connection", "close"));
  }

  private static HttpResponse response(Api.Reply reply) {
    HttpResponse response = HttpResponse.create().withStatus(reply.status());
    if (reply.json() != null) {
      try {
        response = response.withEntity(ContentTypes.APPLICATION_JSON, JsonBody.JSON.writeValueAsBytes(reply.json()));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    } else if (reply.bytes() != null) {
      response = response.withEntity(ContentTypes.create(MediaTypes.applicationWithOpenCharset("x-ndjson"),
          org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8), reply.bytes());
    }
    List<HttpHeader> headers = new ArrayList<>();
    headers.add(RawHeader.create("Cache-Control", "no-store"));
    reply.headers().forEach((k, v) -> headers.add(RawHeader.create(k, v)));
    if (reply.setCookie() != null) {
      headers.add(RawHeader.create("Set-Cookie", reply.setCookie()));
    }
    return response.addHeaders(headers);
  }

  static HttpResponse error(int status, String message) {
    String json = "{\"error\":" + quote(message) + "}";
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, json.getBytes(StandardCharsets.UTF_8));
  }

  private static String quote(String text) {
    try {
      return JsonBody.JSON.writeValueAsString(text);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return "\"\"";
    }
  }

  // ---------------------------------------------------------------- static files

  private static HttpResponse staticFile(String path) {
    String resource;
    if (path.equals("/")) {
      resource = "web/index.html";
    } else if (path.equals("/admin")) {
      resource = "web/admin.html";
    } else if (path.startsWith("/static/") && STATIC_PATH.matcher(path.substring(8)).matches() && !path.contains("..")) {
      resource = "web/" + path.substring(8);
    } else if (path.startsWith("/webjars/") && STATIC_PATH.matcher(path.substring(9)).matches() && !path.contains("..")) {
      resource = webjarResource(path.substring(9));
    } else {
      return error(404, "not found: " + path);
    }
    try (InputStream in = FeedbackServer.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        return error(404, "not found: " + path);
      }
      byte[] bytes = in.readAllBytes();
      return HttpResponse.create().withEntity(HttpEntities.create(contentType(resource), bytes))
          .addHeader(RawHeader.create("Cache-Control", resource.startsWith("META-INF") ? "max-age=86400" : "no-cache"));
    } catch (IOException e) {
      return error(500, "reading " + path + " failed");
    }
  }

  /**
   * "uplot/dist/x.js" as the resource of the WebJar on the class path, whatever its version (the parent pom
   * holds the one version; pages never repeat it).
   */
  private static String webjarResource(String rest) {
    int slash = rest.indexOf('/');
    if (slash > 0) {
      String name = rest.substring(0, slash);
      try (InputStream in = FeedbackServer.class.getClassLoader().getResourceAsStream(
          "META-INF/maven/org.webjars.npm/" + name + "/pom.properties")) {
        if (in != null) {
          java.util.Properties p = new java.util.Properties();
          p.load(in);
          return "META-INF/resources/webjars/" + name + "/" + p.getProperty("version") + rest.substring(slash);
        }
      } catch (IOException e) {
        log.warn("reading the version of WebJar {}: {}", name, e.getMessage());
      }
    }
    return "META-INF/resources/webjars/" + rest;
  }

  private static ContentType contentType(String resource) {
    if (resource.endsWith(".html")) {
      return ContentTypes.TEXT_HTML_UTF8;
    }
    if (resource.endsWith(".js")) {
      return ContentTypes.create(MediaTypes.APPLICATION_JAVASCRIPT, org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8);
    }
    if (resource.endsWith(".css")) {
      return ContentTypes.create(MediaTypes.TEXT_CSS, org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8);
    }
    if (resource.endsWith(".svg")) {
      return ContentTypes.create(MediaTypes.IMAGE_SVG_XML);
    }
    return ContentTypes.APPLICATION_OCTET_STREAM;
  }
}
