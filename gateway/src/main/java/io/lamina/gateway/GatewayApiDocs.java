package io.lamina.gateway;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The OpenAPI document of what the gateway answers itself (API keys, sign-in, live training events),
 * next to the services' documents in the Swagger UI; every call takes {@code Authorization: Bearer <key>}.
 */
@Configuration(proxyBeanMethods = false)
class GatewayApiDocs {

    @Bean
    OpenAPI gatewayOpenApi() {
        return new OpenAPI().info(new Info().title("Lamina gateway").version("v1")
                        .description("API keys (admin), dashboard sign-in, and live training progress as server-sent events. "
                                + "The services' APIs are listed next to this one."))
                .components(new Components().addSecuritySchemes("apiKey",
                        new SecurityScheme().type(SecurityScheme.Type.HTTP).scheme("bearer").description("an API key: lam_…")))
                .addSecurityItem(new SecurityRequirement().addList("apiKey"));
    }
}
