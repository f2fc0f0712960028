// Runs AWS's DynamoDB Local listening on one address (the dev server passes 127.0.0.1), not on every interface.
//
// DynamoDBLocal.jar's own main class builds its Jetty server with `new Server(port)`, which binds the wildcard
// address; it has no option for the host. This launcher builds the same server through DynamoDB Local's public
// factory (ServerRunner.createServerFromCommandLineArgs, same arguments as its command line), sets the host on
// the connector before it opens, and starts it. Telemetry is never configured (only ServerRunner.main does).
//
// Protocol with the dev server (localaws/dynamodb_local.py):
//   * `-Ddevkit.host=<address>` is the address to listen on, `-Ddevkit.port=<n>` the port (0, the default: a free
//     one, which DynamoDB Local's own `-port` refuses; the factory gets a placeholder that the connector replaces).
//   * Once serving, one line on stdout: `DEVKIT-READY <host> <port>`.
//   * stdin is a pipe from the dev server: end of file means the dev server is gone, and DynamoDB Local stops
//     (a second line of defence next to PR_SET_PDEATHSIG, which the dev server sets when it spawns this JVM).
//   * SIGTERM stops Jetty and closes the database through a shutdown hook.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDBLocal {
    public static final String READY = "DEVKIT-READY";
    private static final String PLACEHOLDER_PORT = "8000";

    private LoopbackDynamoDBLocal() {}

    public static void main(String[] args) throws Exception {
        String host = System.getProperty("devkit.host", "127.0.0.1");
        int port = Integer.getInteger("devkit.port", 0);
        String[] withPort = java.util.Arrays.copyOf(args, args.length + 2);
        withPort[args.length] = "-port";
        withPort[args.length + 1] = PLACEHOLDER_PORT;
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(withPort);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost(host);
            ((ServerConnector) connector).setPort(port);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stopQuietly(proxy), "devkit-stop"));
        proxy.start();
        int bound = ((ServerConnector) server.getConnectors()[0]).getLocalPort();
        System.out.println(READY + " " + host + " " + bound);
        System.out.flush();
        Thread watch = new Thread(LoopbackDynamoDBLocal::exitWhenParentGoes, "devkit-parent-watch");
        watch.setDaemon(true);
        watch.start();
        proxy.join();
    }

    private static void exitWhenParentGoes() {
        try {
            while (System.in.read() >= 0) {
                // the dev server never writes; it only holds the pipe open
            }
        } catch (java.io.IOException e) {
            // a broken pipe is the same news as end of file
        }
        System.exit(0);
    }

    private static void stopQuietly(DynamoDBProxyServer proxy) {
        try {
            proxy.stop();
        } catch (Exception e) {
            System.err.println("DynamoDB Local did not stop cleanly: " + e);
        }
    }
}
