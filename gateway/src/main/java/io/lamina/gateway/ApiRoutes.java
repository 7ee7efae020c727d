package io.lamina.gateway;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.function.RequestPredicate;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.ServerResponse;

import static org.springframework.cloud.gateway.server.mvc.filter.BeforeFilterFunctions.setPath;
import static org.springframework.cloud.gateway.server.mvc.filter.BeforeFilterFunctions.uri;
import static org.springframework.cloud.gateway.server.mvc.handler.GatewayRouterFunctions.route;
import static org.springframework.cloud.gateway.server.mvc.handler.HandlerFunctions.http;
import static org.springframework.cloud.gateway.server.mvc.predicate.GatewayRequestPredicates.path;

/**
 * Which service answers which path. Prediction lives under {@code /api/streams/{id}/predict}
 * but is served by composition, so that route is declared before the general streams route;
 * {@code /api/streams/{id}/events} is answered by the gateway itself, so the streams route leaves it out
 * (Spring MVC asks router functions before annotated controllers).
 */
@Configuration(proxyBeanMethods = false)
class ApiRoutes {
    /** The header the services check (service-support's InternalSecret). */
    static final String INTERNAL_HEADER = "X-Lamina-Internal";

    private final String internalSecret;

    ApiRoutes(@org.springframework.beans.factory.annotation.Value("${lamina.internal-secret:}") String internalSecret) {
        this.internalSecret = internalSecret;
    }

    @Bean
    RouterFunction<ServerResponse> apiRouter(GatewayProperties s) {
        return to("predict", path("/api/streams/*/predict"), s.composition())
                .and(to("import", path("/api/adapters/import"), s.composition()))
                // the live events of a stream are the gateway's own (StreamEventsController): routes come before controllers
                .and(to("streams", path("/api/streams", "/api/streams/**", "/api/strategies")
                        .and(path("/api/streams/*/events").negate()), s.workflows()))
                .and(to("datasets", path("/api/datasets", "/api/datasets/**"), s.ingestion()))
                .and(to("adapters", path("/api/adapters", "/api/adapters/**"), s.registry()))
                .and(to("merges", path("/api/merges", "/api/merges/**"), s.composition()))
                .and(to("compose", path("/api/predict", "/api/embeddings"), s.composition()))
                .and(to("evaluations", path("/api/evaluations", "/api/evaluations/**"), s.evaluation()))
                .and(to("hypernetwork", path("/api/hypernetwork/**"), s.hypernetwork()))
                .and(to("dead-letters", path("/api/dead-letters", "/api/dead-letters/**"), s.workflows()))
                .and(apiDocs("ingestion", s.ingestion()))
                .and(apiDocs("registry", s.registry()))
                .and(apiDocs("composition", s.composition()))
                .and(apiDocs("evaluation", s.evaluation()))
                .and(apiDocs("hypernetwork", s.hypernetwork()))
                .and(apiDocs("workflows", s.workflows()));
    }

    private RouterFunction<ServerResponse> to(String id, RequestPredicate predicate, String target) {
        return route(id).route(predicate, http()).before(uri(target)).before(this::internal).build();
    }

    /** The services' shared secret ({@code lamina.internal-secret}) on every forwarded request; nothing when unset. */
    private org.springframework.web.servlet.function.ServerRequest internal(org.springframework.web.servlet.function.ServerRequest request) {
        if (internalSecret.isBlank()) return request;
        return org.springframework.web.servlet.function.ServerRequest.from(request)
                .headers(h -> h.set(INTERNAL_HEADER, internalSecret)).build();
    }

    /** Each service's OpenAPI document, republished under {@code /api-docs/<service>}. */
    private RouterFunction<ServerResponse> apiDocs(String service, String target) {
        return route("docs-" + service).route(path("/api-docs/" + service), http())
                .before(uri(target)).before(setPath("/v3/api-docs")).before(this::internal).build();
    }
}
