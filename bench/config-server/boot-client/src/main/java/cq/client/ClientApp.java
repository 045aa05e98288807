// A stock Spring Boot 4 application with spring-cloud-starter-config and nothing else. One JVM
// starts it once per case given on the command line, each time as a real Boot start:
//   NAME|URL|APP|PROFILES[|LABEL]
// with spring.config.import=configserver:URL (fail-fast, so a refused or unbindable config
// fails the start), then prints every property the config server contributed, resolved by
// the client as the application would see it:
//   NAME key=value        (sorted by key)
//   NAME OK <n> properties
// or, when the start fails:
//   NAME ERROR <the exception chain, one line>
// CONFIG_USER / CONFIG_PASSWORD (env) are sent as HTTP Basic credentials.
package cq.client;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.PropertySource;

@SpringBootApplication
public class ClientApp {

    public static void main(String[] args) {
        int failures = 0;
        for (String spec : args) {
            String[] f = spec.split("\\|", -1);
            String name = f[0];
            List<String> props = new ArrayList<>();
            props.add("spring.config.import=configserver:" + f[1]);
            props.add("spring.application.name=" + f[2]);
            props.add("spring.cloud.config.fail-fast=true");
            props.add("spring.main.banner-mode=off");
            props.add("spring.main.log-startup-info=false");
            if (f.length > 4 && !f[4].isEmpty()) {
                props.add("spring.cloud.config.label=" + f[4]);
            }
            String user = System.getenv("CONFIG_USER");
            if (user != null && !user.isEmpty()) {
                props.add("spring.cloud.config.username=" + user);
                props.add("spring.cloud.config.password=" + System.getenv("CONFIG_PASSWORD"));
            }
            SpringApplicationBuilder b = new SpringApplicationBuilder(ClientApp.class)
                    .web(WebApplicationType.NONE)
                    .properties(props.toArray(new String[0]));
            if (!f[3].isEmpty() && !f[3].equals("default")) {
                b.profiles(f[3].split(","));
            }
            try (ConfigurableApplicationContext ctx = b.run()) {
                ConfigurableEnvironment env = ctx.getEnvironment();
                TreeMap<String, String> seen = new TreeMap<>();
                for (PropertySource<?> ps : env.getPropertySources()) {
                    if (!ps.getName().startsWith("configserver:") && !ps.getName().startsWith("configClient")) {
                        continue;
                    }
                    if (ps instanceof EnumerablePropertySource<?> eps) {
                        for (String k : eps.getPropertyNames()) {
                            if (!seen.containsKey(k)) {
                                String v;
                                try {
                                    v = env.getProperty(k);
                                } catch (RuntimeException e) {
                                    v = "<unresolvable: " + e.getMessage() + ">";
                                }
                                seen.put(k, v);
                            }
                        }
                    }
                }
                seen.forEach((k, v) -> System.out.println(name + " " + k + "=" + String.valueOf(v).replace("\n", "\\n")));
                System.out.println(name + " OK " + seen.size() + " properties");
            } catch (Throwable t) {
                failures++;
                StringBuilder sb = new StringBuilder();
                for (Throwable c = t; c != null; c = c.getCause()) {
                    if (sb.length() > 0) {
                        sb.append(" <- ");
                    }
                    sb.append(c.getClass().getSimpleName()).append(": ").append(String.valueOf(c.getMessage()).replace("\n", " "));
                }
                System.out.println(name + " ERROR " + sb);
            }
        }
        System.out.flush();
        System.exit(0);
    }
}
