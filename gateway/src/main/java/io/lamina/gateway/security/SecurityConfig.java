package io.lamina.gateway.security;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.ApplicationRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.security.access.hierarchicalroles.RoleHierarchy;
import org.springframework.security.access.hierarchicalroles.RoleHierarchyImpl;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configuration.EnableWebSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.security.web.context.HttpSessionSecurityContextRepository;
import org.springframework.security.web.context.SecurityContextRepository;
import org.springframework.security.web.csrf.CookieCsrfTokenRepository;
import org.springframework.security.web.csrf.CsrfTokenRequestAttributeHandler;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.util.List;
import java.util.Locale;

/**
 * Who may do what at the gateway, the platform's one door. Programs send {@code Authorization: Bearer
 * <API key>}; the dashboard signs in with a key once ({@code POST /api/session}) and then uses a session
 * cookie, with CSRF protection (the {@code XSRF-TOKEN} cookie echoed as {@code X-XSRF-TOKEN}) for
 * everything that is not a read. Roles nest: admin ⊃ operator ⊃ viewer.
 * <ul>
 *   <li>anonymous: the dashboard's static files, health, the API docs' UI, signing in;</li>
 *   <li>viewer: every read ({@code GET}), and the reads that take a body (predictions, embeddings,
 *       scoring adapters);</li>
 *   <li>operator: every other write (streams, policies, uploads, merges, imports, promotion, replays);</li>
 *   <li>admin: API keys.</li>
 * </ul>
 */
@Configuration(proxyBeanMethods = false)
@EnableWebSecurity
class SecurityConfig {

    @Bean
    RoleHierarchy roleHierarchy() {
        return RoleHierarchyImpl.fromHierarchy("ROLE_ADMIN > ROLE_OPERATOR\nROLE_OPERATOR > ROLE_VIEWER");
    }

    @Bean
    SecurityContextRepository securityContextRepository() {
        return new HttpSessionSecurityContextRepository();
    }

    @Bean
    SecurityFilterChain laminaSecurity(HttpSecurity http, ApiKeys keys, SecurityContextRepository contexts) throws Exception {
        CsrfTokenRequestAttributeHandler csrfHandler = new CsrfTokenRequestAttributeHandler();
        csrfHandler.setCsrfRequestAttributeName(null); // load the token on every request, so the cookie is always set
        http.httpBasic(AbstractHttpConfigurer::disable)
                .formLogin(AbstractHttpConfigurer::disable)
                .logout(AbstractHttpConfigurer::disable)
                .securityContext(c -> c.securityContextRepository(contexts))
                .csrf(c -> c.csrfTokenRepository(CookieCsrfTokenRepository.withHttpOnlyFalse())
                        .csrfTokenRequestHandler(csrfHandler)
                        // programs with a key are not browsers riding on a cookie; signing in has no session yet
                        .ignoringRequestMatchers(r -> r.getHeader("Authorization") != null,
                                r -> r.getRequestURI().equals("/api/session") && "POST".equals(r.getMethod())))
                .addFilterBefore(new BearerKeyFilter(keys), AnonymousAuthenticationFilter.class)
                .authorizeHttpRequests(a -> a
                        // the request that started an async answer (server-sent events) was authorised when it came in;
                        // its async dispatch (completion, timeout) has no bearer key to look at again
                        .dispatcherTypeMatchers(jakarta.servlet.DispatcherType.ASYNC).permitAll()
                        .requestMatchers("/", "/index.html", "/lamina.js", "/lamina.css", "/favicon.ico", "/error").permitAll()
                        .requestMatchers("/actuator/health", "/actuator/health/**").permitAll()
                        .requestMatchers("/swagger-ui.html", "/swagger-ui/**", "/v3/api-docs/swagger-config").permitAll()
                        .requestMatchers("/api/session").permitAll()
                        .requestMatchers("/api/keys", "/api/keys/**").hasRole("ADMIN")
                        .requestMatchers(HttpMethod.GET, "/api/**", "/api-docs/**", "/v3/api-docs/**").hasRole("VIEWER")
                        .requestMatchers(HttpMethod.HEAD, "/api/**").hasRole("VIEWER")
                        .requestMatchers(HttpMethod.POST, "/api/streams/*/predict", "/api/predict", "/api/embeddings",
                                "/api/evaluations/adapters").hasRole("VIEWER")
                        .requestMatchers("/api/**").hasRole("OPERATOR")
                        .anyRequest().hasRole("VIEWER"))
                .exceptionHandling(e -> e
                        .authenticationEntryPoint((req, res, ex) -> problem(res, 401, "Unauthorized",
                                "send 'Authorization: Bearer <API key>' or sign in (POST /api/session)"))
                        // a write without a CSRF token is refused before authorisation: anonymous is still a 401
                        .accessDeniedHandler((req, res, ex) -> {
                            if (anonymous()) {
                                problem(res, 401, "Unauthorized", "send 'Authorization: Bearer <API key>' or sign in (POST /api/session)");
                            } else {
                                problem(res, 403, "Forbidden", forbidden(req));
                            }
                        }));
        return http.build();
    }

    /** Requests the firewall refuses (encoded dots or slashes in paths, ...) get a problem too, not an error page. */
    @Bean
    org.springframework.security.web.firewall.RequestRejectedHandler requestRejectedHandler() {
        return (req, res, ex) -> problem(res, 400, "Bad Request", "the request was rejected: " + ex.getMessage());
    }

    @Bean
    ApplicationRunner apiKeyBootstrap(ApiKeys keys, @Value("${lamina.security.admin-key:}") String adminKey) {
        return args -> keys.bootstrap(adminKey);
    }

    private static boolean anonymous() {
        Authentication a = SecurityContextHolder.getContext().getAuthentication();
        return a == null || a instanceof org.springframework.security.authentication.AnonymousAuthenticationToken || !a.isAuthenticated();
    }

    private static String forbidden(HttpServletRequest req) {
        Authentication a = SecurityContextHolder.getContext().getAuthentication();
        String role = a == null ? "anonymous" : a.getAuthorities().stream().map(g -> g.getAuthority().replace("ROLE_", "").toLowerCase(Locale.ROOT))
                .findFirst().orElse("anonymous");
        if (req.getRequestURI().startsWith("/api/keys")) return "managing API keys needs the admin role; this key is " + role;
        if (!"GET".equals(req.getMethod()) && a != null && a.getAuthorities().stream().anyMatch(g -> g.getAuthority().equals("ROLE_OPERATOR")
                || g.getAuthority().equals("ROLE_ADMIN"))) {
            return "the request has no valid CSRF token (send the XSRF-TOKEN cookie's value as X-XSRF-TOKEN)";
        }
        return req.getMethod() + " " + req.getRequestURI() + " needs the operator role; this key is " + role;
    }

    static void problem(HttpServletResponse res, int status, String title, String detail) throws IOException {
        io.lamina.gateway.Problems.write(res, status, title, detail);
    }

    /** {@code Authorization: Bearer <key>}: a known key authenticates with its role; any other is a 401 at once. */
    static final class BearerKeyFilter extends OncePerRequestFilter {
        private final ApiKeys keys;

        BearerKeyFilter(ApiKeys keys) {
            this.keys = keys;
        }

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            String header = request.getHeader("Authorization");
            if (header == null) {
                chain.doFilter(request, response);
                return;
            }
            if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
                problem(response, 401, "Unauthorized", "the Authorization header must be 'Bearer <API key>'");
                return;
            }
            var key = keys.authenticate(header.substring(7).strip());
            if (key.isEmpty()) {
                problem(response, 401, "Unauthorized", "unknown or revoked API key");
                return;
            }
            var context = SecurityContextHolder.createEmptyContext();
            context.setAuthentication(authentication(key.get()));
            SecurityContextHolder.setContext(context);
            try {
                chain.doFilter(request, response);
            } finally {
                SecurityContextHolder.clearContext();
            }
        }
    }

    static Authentication authentication(ApiKeys.ApiKey key) {
        return UsernamePasswordAuthenticationToken.authenticated(key.name() + " [" + key.id() + "]", null,
                List.of(new SimpleGrantedAuthority("ROLE_" + key.role().toUpperCase(Locale.ROOT))));
    }
}
